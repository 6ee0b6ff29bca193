# TROUPE_SANITIZERS=address,undefined instruments every target alike.
if(TROUPE_SANITIZERS)
  set(_troupe_san "-fsanitize=${TROUPE_SANITIZERS}")
  add_compile_options(${_troupe_san} -fno-omit-frame-pointer)
  add_link_options(${_troupe_san})
  if(TROUPE_SANITIZERS MATCHES "undefined")
    # Every finding stops the program, except `null`, which stays recoverable so the
    # one known CAF 0.17 finding can be suppressed by name (cmake/ubsan.supp);
    # UBSAN_OPTIONS=halt_on_error=1 still stops on any other.
    add_compile_options(-fno-sanitize-recover=undefined -fsanitize-recover=null)
  endif()
endif()
