# Generates the seed corpus with ember_broken_gguf and runs the fuzz target over it once.
#   cmake -DFUZZER=<fuzz_gguf> -DGEN=<ember_broken_gguf> -DDIR=<folder> -P run_seeds.cmake
file(REMOVE_RECURSE "${DIR}")
execute_process(COMMAND "${GEN}" "${DIR}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ember_broken_gguf failed (${rc}): ${err}")
endif()
file(GLOB seeds "${DIR}/*.gguf")
execute_process(COMMAND "${FUZZER}" ${seeds} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_gguf failed on the seed corpus (${rc}):\n${err}")
endif()
list(LENGTH seeds n)
message(STATUS "fuzz_gguf: ${n} seeds ran cleanly")
