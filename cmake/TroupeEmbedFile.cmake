# Script mode helper of troupe_embed: IN (file), OUT (header), VAR (name).
file(READ "${IN}" content)
file(WRITE "${OUT}" "#pragma once\n// Generated from ${IN}; edit that file instead.\n#include <string_view>\nnamespace troupe::embedded {\ninline constexpr std::string_view ${VAR} = R\"troupe_embedded(${content})troupe_embedded\";\n} // namespace troupe::embedded\n")
