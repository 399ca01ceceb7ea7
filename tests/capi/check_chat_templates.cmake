# chat --print-prompt renders the conversation of chat_input.txt with real models' templates
# (shared/templates, evaluated by ember's Jinja interpreter); each prompt must hold the model's
# own turn markers around the user's text, and the second turn the first reply.
set(expect
  "Qwen-Qwen2.5-7B-Instruct=<|im_start|>user\nHello! Can you tell me a story?<|im_end|>\n<|im_start|>assistant\n(reply 1)<|im_end|>\n<|im_start|>user\nWhat happened next?<|im_end|>\n<|im_start|>assistant\n"
  "meta-llama-Llama-3.1-8B-Instruct=<|start_header_id|>user<|end_header_id|>\n\nHello! Can you tell me a story?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n(reply 1)<|eot_id|>"
  "microsoft-Phi-3.5-mini-instruct=<|user|>\nWhat happened next?<|end|>\n<|assistant|>\n"
  "google-gemma-2-2b-it=<start_of_turn>user\nHello! Can you tell me a story?<end_of_turn>\n<start_of_turn>model\n")
foreach(pair ${expect})
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
  set(name ${CMAKE_MATCH_1})
  string(REPLACE "\\n" "\n" want "${CMAKE_MATCH_2}")
  set(file ${TEMPLATES}/${name}.jinja)
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "missing template ${file}")
  endif()
  execute_process(COMMAND ${CHAT} ${MODEL} --template ${file} --print-prompt INPUT_FILE ${INPUT}
    OUTPUT_VARIABLE got ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: chat failed (${rc}): ${err}")
  endif()
  string(FIND "${got}" "${want}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${name}: the rendered prompts\n${got}\ndo not contain\n${want}")
  endif()
endforeach()
