# www_assets.cmake: writes DIR/assets.json, the SHA-256 of every file under DIR (the
# assembled page, build/www), which the service worker (www/sw.js) pins on first use.
#   cmake -DDIR=build/www -P webclient/www_assets.cmake
# Every file is listed (found at build time, so a file added to www/ or webclient/js/ is
# covered without touching this script), by its path relative to DIR with '/' separators,
# sorted; assets.json itself and hidden files (which the relay refuses to serve) are not.
# Output: {"version":1,"files":{"app.js":"<64 hex>",...}}
if(NOT DIR OR NOT IS_DIRECTORY "${DIR}")
  message(FATAL_ERROR "www_assets.cmake: give the page's directory with -DDIR=... (got '${DIR}')")
endif()
get_filename_component(DIR "${DIR}" ABSOLUTE)
file(GLOB_RECURSE files RELATIVE "${DIR}" LIST_DIRECTORIES false "${DIR}/*")
list(SORT files)
set(body "")
foreach(f ${files})
  if(f STREQUAL "assets.json" OR f MATCHES "(^|/)\\.")
    continue()
  endif()
  # The service worker accepts only these names (sw.js NAME); anything else would leave the
  # page unpinnable, so the build stops here instead.
  if(NOT f MATCHES "^[A-Za-z0-9._/-]+$")
    message(FATAL_ERROR "www_assets.cmake: ${DIR}/${f}: a file of the page may only be named with A-Z a-z 0-9 . _ - /")
  endif()
  file(SHA256 "${DIR}/${f}" h)
  if(body)
    string(APPEND body ",\n")
  endif()
  string(APPEND body "  \"${f}\": \"${h}\"")
endforeach()
if(NOT body)
  message(FATAL_ERROR "www_assets.cmake: ${DIR} holds no files")
endif()
set(text "{\"version\":1,\"files\":{\n${body}\n}}\n")
# Rewritten only when it changed (else touched, so the build sees it up to date).
set(out "${DIR}/assets.json")
if(EXISTS "${out}")
  file(READ "${out}" old)
  if(old STREQUAL text)
    file(TOUCH "${out}")
    return()
  endif()
endif()
file(WRITE "${out}.tmp" "${text}")
file(RENAME "${out}.tmp" "${out}")
