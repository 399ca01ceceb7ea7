# Generates the tokenizer seed corpus and runs fuzz_tokenizer over it once.
#   cmake -DFUZZER=<fuzz_tokenizer> -DVOCAB_DIR=<shared/vocab> -DDIR=<folder> -P run_tokenizer_seeds.cmake
file(REMOVE_RECURSE "${DIR}")
find_package(Python3 REQUIRED COMPONENTS Interpreter)
execute_process(COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/tokenizer_seeds.py" "${VOCAB_DIR}" "${DIR}"
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tokenizer_seeds.py failed (${rc}): ${err}")
endif()
execute_process(COMMAND "${FUZZER}" -runs=0 "${DIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_tokenizer failed on the seed corpus (${rc}):\n${err}")
endif()
message(STATUS "fuzz_tokenizer: the seed corpus ran cleanly")
