# Runs the generator into OUT and fails if any vector file differs from the one in SRC.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${GEN} ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the generator failed (${rc})")
endif()
file(GLOB generated RELATIVE ${OUT} ${OUT}/*.txt)
if(NOT generated)
  message(FATAL_ERROR "the generator wrote no files")
endif()
foreach(f ${generated})
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${f} ${SRC}/${f}
                  RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    message(FATAL_ERROR "tests/vectors/${f} is not what the generator writes now: "
                        "rebuild and run `cmake --build <build> --target regen_v2_vectors`, "
                        "review the diff, and commit it")
  endif()
endforeach()
