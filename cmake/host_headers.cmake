# Cross builds: the header-only dependencies as imported targets whose
# include directory holds only their folders (symbolic links into the build
# host's include directory), so the host's system headers stay out of the
# cross compiler's search path. Defines the targets find_package would.
set(_cvm_staged ${CMAKE_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${_cvm_staged})
foreach(_dir nlohmann catch2 xsimd stb)
  if(EXISTS ${CVM_HOST_HEADERS_DIR}/${_dir} AND NOT EXISTS ${_cvm_staged}/${_dir})
    file(CREATE_LINK ${CVM_HOST_HEADERS_DIR}/${_dir} ${_cvm_staged}/${_dir} SYMBOLIC)
  endif()
endforeach()
if(NOT EXISTS ${_cvm_staged}/nlohmann/json.hpp)
  message(FATAL_ERROR "nlohmann/json.hpp not found under ${CVM_HOST_HEADERS_DIR} (apt-get install nlohmann-json3-dev)")
endif()

function(_cvm_header_target name)
  if(NOT TARGET ${name})
    add_library(${name} INTERFACE IMPORTED GLOBAL)
    set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_cvm_staged})
  endif()
endfunction()
_cvm_header_target(nlohmann_json::nlohmann_json)
set(nlohmann_json_FOUND TRUE)
if(EXISTS ${_cvm_staged}/catch2/catch.hpp)
  _cvm_header_target(Catch2::Catch2)
  set(Catch2_FOUND TRUE)
endif()
if(EXISTS ${_cvm_staged}/stb/stb_image.h)
  _cvm_header_target(cvm_stb)  # cvm-run's image decoder
endif()
if(EXISTS ${_cvm_staged}/xsimd/xsimd.hpp)
  _cvm_header_target(xsimd)
  set(xsimd_FOUND TRUE)
endif()
