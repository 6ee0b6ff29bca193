# TROUPE_SANITIZERS=address,undefined instruments every target alike.
if(TROUPE_SANITIZERS)
  set(_troupe_san "-fsanitize=${TROUPE_SANITIZERS}")
  add_compile_options(${_troupe_san} -fno-omit-frame-pointer)
  add_link_options(${_troupe_san})
  if(TROUPE_SANITIZERS MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
