// A program that uses ember only through its installed headers and CMake package.
#include <ember/gguf.hpp>
#include <ember/types.hpp>

#include <cstdio>

int main() {
    ember::gguf_writer w;
    w.set_string("general.architecture", "llama");
    const auto bytes = w.write_to_memory();
    const auto f = ember::gguf_file::parse(bytes, "consumer");
    std::printf("%s %s %zu\n", std::string(f.get_string("general.architecture")).c_str(),
                std::string(ember::type_name(ember::ggml_type::q4_K)).c_str(), f.metadata().size());
    return 0;
}
