# Each listed template must be recognised as its family (the rest fall back to plain).
set(expect
  "Qwen-Qwen2.5-7B-Instruct=ChatML" "Qwen-Qwen3-0.6B=ChatML" "meta-llama-Llama-3.1-8B-Instruct=Llama-3"
  "meta-llama-Llama-3.2-3B-Instruct=Llama-3" "microsoft-Phi-3.5-mini-instruct=Phi-3" "google-gemma-2-2b-it=Gemma"
  "mistralai-Mistral-Nemo-Instruct-2407=Llama-2 [INST]" "GLM-4.6=GLM" "deepseek-ai-DeepSeek-R1-Distill-Llama-8B=DeepSeek"
  "ibm-granite-granite-3.3-2B-Instruct=Granite" "openai-gpt-oss-120b=plain User:/Assistant:")
foreach(pair ${expect})
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
  set(file ${TEMPLATES}/${CMAKE_MATCH_1}.jinja)
  set(want "${CMAKE_MATCH_2}")
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "missing template ${file}")
  endif()
  execute_process(COMMAND ${CHAT} --template-family ${file} OUTPUT_VARIABLE got RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR NOT got STREQUAL want)
    message(FATAL_ERROR "${CMAKE_MATCH_1}: recognised as '${got}', expected '${want}'")
  endif()
endforeach()
