# `ember quantize` of the synthetic models of the other architectures (../shared/models) gives
# files byte-identical to llama.cpp's `llama-quantize` output. The SHA-256 of each of llama.cpp's
# files was recorded from a reference build (snapshot ae1a0b1c7, Release, outside the repo):
#   llama-quantize ../shared/models/synthetic-$m.gguf out.gguf $type && sha256sum out.gguf
# Inputs: EMBER (the CLI), SHARED (../shared), DIR (scratch directory).
set(expected
  "qwen2 Q8_0 8dbb2ceb6d57139379b254ffd17af630db8aa54966bd0b3a684ae660200d4790"
  "qwen2 Q4_K_M 5bb5cfb42bc608e0f24f7da8aa886a4e7830628bdd69025b99c1349e82e73e17"
  "qwen3 Q8_0 518dba85c235045ba309b20d055ece79003e2e1c3dc5e8aea02fd01e1607d95d"
  "qwen3 Q4_K_M b6c25ebe0fb38b706a5f17b27df194fb78b61f35d7f5a89c58c3cf96227be27d"
  "gemma3 Q8_0 8514bff204baff868ce9e8e6d8b9f084afdd751f48b23fe5c2a56200a19a38b1"
  "gemma3 Q4_K_M be1b7344c0ed3b87ab9feb9e9e20c6195435f14873336ecdba8bf232fc0177b1"
  "qwen2-bpe Q8_0 927458faa48a8d9bb274ae7e65160ecd48d5e8eddb19171c4432de1c8a4324cc"
  "qwen2-bpe Q4_K_M 69d9936dad4864d79740acc514a5e050a73d791c88932d60008a8852f69820d0")
file(REMOVE_RECURSE ${DIR})
file(MAKE_DIRECTORY ${DIR})
set(failed "")
foreach(entry ${expected})
  string(REPLACE " " ";" parts "${entry}")
  list(GET parts 0 m)
  list(GET parts 1 type)
  list(GET parts 2 want)
  set(out ${DIR}/synthetic-${m}-${type}.gguf)
  execute_process(COMMAND ${EMBER} quantize ${SHARED}/models/synthetic-${m}.gguf ${out} ${type} -t 2
    OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(APPEND failed "synthetic-${m} ${type}: ember quantize failed (${rc}): ${err}")
    continue()
  endif()
  file(SHA256 ${out} got)
  if(got STREQUAL want)
    message(STATUS "synthetic-${m} ${type}: identical to llama-quantize's (sha256 ${got})")
  else()
    list(APPEND failed "synthetic-${m} ${type}: sha256 ${got}, llama-quantize's file is ${want}")
  endif()
  file(REMOVE ${out})
endforeach()
if(failed)
  string(JOIN "\n" msg ${failed})
  message(FATAL_ERROR "${msg}")
endif()
