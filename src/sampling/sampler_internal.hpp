// Pieces shared by the sampler chain (sampler.cpp) and its stages (sampler_stages.cpp).
#pragma once

#include <cstddef>

#include "ember/sampler.hpp"

namespace ember::detail {

// Draws an index from the live candidates in proportion to their p (softmax() must have run).
// Consumes exactly one uniform from rng; never returns an entry with p == 0. Throws
// errc::invalid_argument when every p is 0 (all logits -inf or NaN).
size_t draw_index(const candidate_set& c, sampler_rng& rng);

// Fails with errc::invalid_argument when no live candidate has a finite or +inf logit.
void require_drawable(const candidate_set& c);

}  // namespace ember::detail
