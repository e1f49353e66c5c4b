# Locates the source tarballs the WebAssembly build compiles with emcc: libsodium 1.0.18 and
# libqrencode 4.1.1. Every tarball is checked against a SHA-256 pinned here before use.
#
# Order tried, per package:
#   1. -DSALTCHAT_<PKG>_TARBALL=/path/file       a local tarball (Debian's or upstream's)
#   2. ${SALTCHAT_WEB_SOURCES_DIR}/<file>        already fetched (webclient/deps-web.sh does this)
#   3. apt-get source --download-only --tar-only  Debian's source package (needs a deb-src entry,
#                                                 which webclient/deps-web.sh adds as root)
#   4. the upstream release, if SALTCHAT_WEB_DOWNLOAD is ON (for machines that are online)
#
# Sets SALTCHAT_LIBSODIUM_SOURCE_TARBALL and SALTCHAT_QRENCODE_SOURCE_TARBALL.

# Same default as webclient/deps-web.sh, which fills it.
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_sc_cache "$ENV{XDG_CACHE_HOME}")
elseif(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
  set(_sc_cache "$ENV{HOME}/.cache")
else()
  set(_sc_cache "/root/.cache")
endif()
set(SALTCHAT_WEB_SOURCES_DIR "${_sc_cache}/saltchat/sources" CACHE PATH
    "Where the web build keeps the libsodium and libqrencode source tarballs")
option(SALTCHAT_WEB_DOWNLOAD "Fall back to downloading upstream source releases (checked by SHA-256)" ON)
set(SALTCHAT_LIBSODIUM_TARBALL "" CACHE FILEPATH "Local libsodium 1.0.18 source tarball")
set(SALTCHAT_QRENCODE_TARBALL "" CACHE FILEPATH "Local libqrencode 4.1.1 source tarball")

# name; debian package; debian file; debian sha256; upstream url; upstream file; upstream sha256
set(_sc_libsodium_debian_file libsodium_1.0.18.orig.tar.gz)
set(_sc_libsodium_debian_sha d59323c6b712a1519a5daf710b68f5e7fde57040845ffec53850911f10a5d4f4)
set(_sc_libsodium_upstream_url
    https://download.libsodium.org/libsodium/releases/libsodium-1.0.18.tar.gz)
set(_sc_libsodium_upstream_file libsodium-1.0.18.tar.gz)
set(_sc_libsodium_upstream_sha 6f504490b342a4f8a4c4a02fc9b866cbef8622d5df4e5452b46be121e46636c1)
set(_sc_libsodium_apt libsodium)

# Debian's orig tarball of qrencode is upstream's release file, byte for byte.
set(_sc_qrencode_debian_file qrencode_4.1.1.orig.tar.bz2)
set(_sc_qrencode_debian_sha e455d9732f8041cf5b9c388e345a641fd15707860f928e94507b1961256a6923)
set(_sc_qrencode_upstream_url https://fukuchi.org/works/qrencode/qrencode-4.1.1.tar.bz2)
set(_sc_qrencode_upstream_file qrencode-4.1.1.tar.bz2)
set(_sc_qrencode_upstream_sha e455d9732f8041cf5b9c388e345a641fd15707860f928e94507b1961256a6923)
set(_sc_qrencode_apt qrencode)

# Sets ${out} to TRUE if file's SHA-256 is one of the pinned values for pkg.
function(_sc_tarball_ok pkg file out)
  set(${out} FALSE PARENT_SCOPE)
  if(NOT EXISTS "${file}" OR IS_DIRECTORY "${file}")
    return()
  endif()
  file(SHA256 "${file}" sha)
  if(sha STREQUAL "${_sc_${pkg}_debian_sha}" OR sha STREQUAL "${_sc_${pkg}_upstream_sha}")
    set(${out} TRUE PARENT_SCOPE)
  endif()
endfunction()

function(_sc_find_tarball pkg var)
  string(TOUPPER ${pkg} PKG)
  set(dir "${SALTCHAT_WEB_SOURCES_DIR}")
  set(local "${SALTCHAT_${PKG}_TARBALL}")
  if(local)
    _sc_tarball_ok(${pkg} "${local}" ok)
    if(NOT ok)
      message(FATAL_ERROR
        "SALTCHAT_${PKG}_TARBALL=${local} is missing or is not the expected release: its "
        "SHA-256 must be ${_sc_${pkg}_debian_sha} (Debian's ${_sc_${pkg}_debian_file}) or "
        "${_sc_${pkg}_upstream_sha} (${_sc_${pkg}_upstream_url}).")
    endif()
    set(${var} "${local}" PARENT_SCOPE)
    return()
  endif()
  foreach(kind debian upstream)
    _sc_tarball_ok(${pkg} "${dir}/${_sc_${pkg}_${kind}_file}" ok)
    if(ok)
      set(${var} "${dir}/${_sc_${pkg}_${kind}_file}" PARENT_SCOPE)
      return()
    endif()
  endforeach()

  file(MAKE_DIRECTORY "${dir}")
  find_program(SALTCHAT_APT_GET apt-get)
  if(SALTCHAT_APT_GET)
    message(STATUS "web client: fetching ${pkg} source with apt-get source into ${dir}")
    execute_process(COMMAND ${SALTCHAT_APT_GET} source --download-only --tar-only
                            ${_sc_${pkg}_apt}
                    WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    _sc_tarball_ok(${pkg} "${dir}/${_sc_${pkg}_debian_file}" ok)
    if(ok)
      set(${var} "${dir}/${_sc_${pkg}_debian_file}" PARENT_SCOPE)
      return()
    endif()
  endif()

  if(SALTCHAT_WEB_DOWNLOAD)
    set(dest "${dir}/${_sc_${pkg}_upstream_file}")
    message(STATUS "web client: downloading ${_sc_${pkg}_upstream_url}")
    file(DOWNLOAD "${_sc_${pkg}_upstream_url}" "${dest}.part"
         EXPECTED_HASH SHA256=${_sc_${pkg}_upstream_sha} STATUS st TLS_VERIFY ON TIMEOUT 60)
    list(GET st 0 code)
    if(code EQUAL 0)
      file(RENAME "${dest}.part" "${dest}")
      set(${var} "${dest}" PARENT_SCOPE)
      return()
    endif()
    file(REMOVE "${dest}.part")
  endif()

  message(FATAL_ERROR
    "web client: no ${pkg} source tarball. Run scripts/deps.sh (as root it adds a deb-src entry "
    "and fetches Debian's source package into ${dir}), or pass "
    "-DSALTCHAT_${PKG}_TARBALL=/path/to/${_sc_${pkg}_upstream_file}, or build without the web "
    "client: -DSALTCHAT_WEB=OFF.")
endfunction()

_sc_find_tarball(libsodium SALTCHAT_LIBSODIUM_SOURCE_TARBALL)
_sc_find_tarball(qrencode SALTCHAT_QRENCODE_SOURCE_TARBALL)
message(STATUS "web client: libsodium source ${SALTCHAT_LIBSODIUM_SOURCE_TARBALL}")
message(STATUS "web client: libqrencode source ${SALTCHAT_QRENCODE_SOURCE_TARBALL}")
