# Runs `ember run --temp 0` and an example on the same MODEL, PROMPT and N and requires their
# stdout to be byte-identical. EXAMPLE is the example's command line with '|' between
# arguments; MODEL PROMPT N are appended.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${EMBER_CLI} run -m ${MODEL} -p ${PROMPT} -n ${N} --temp 0 -t 1
  OUTPUT_FILE ${WORK}/expected.txt ERROR_VARIABLE cli_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ember run failed (${rc}):\n${cli_err}")
endif()
string(REPLACE "|" ";" example_cmd "${EXAMPLE}")
execute_process(COMMAND ${example_cmd} ${MODEL} ${PROMPT} ${N}
  OUTPUT_FILE ${WORK}/actual.txt ERROR_VARIABLE ex_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example failed (${rc}): ${example_cmd}\n${ex_err}")
endif()
file(SIZE ${WORK}/expected.txt expected_size)
if(expected_size EQUAL 0)
  message(FATAL_ERROR "ember run printed nothing; the comparison would prove nothing")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/expected.txt ${WORK}/actual.txt RESULT_VARIABLE differ)
if(differ)
  file(READ ${WORK}/expected.txt expected)
  file(READ ${WORK}/actual.txt actual)
  message(FATAL_ERROR "outputs differ\n--- ember run --temp 0:\n${expected}\n--- ${example_cmd}:\n${actual}")
endif()
message(STATUS "identical (${expected_size} bytes)")
