#pragma once

#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>

#include <caf/atom.hpp>
#include <caf/detail/pretty_type_name.hpp>

namespace troupe::chaos {

namespace detail {

template <class T>
struct is_atom_constant : std::false_type {};

template <caf::atom_value V>
struct is_atom_constant<caf::atom_constant<V>> : std::true_type {};

} // namespace detail

/// The stable name faults match a message by: the text of its first element when that is
/// an atom (`(fetch_atom, id)` is "fetch"), else the first element's C++ type name (e.g.
/// "troupe::user::user_patch"); "" for an empty message.
template <class... Ts>
std::string message_name(const std::tuple<Ts...>& msg) {
  if constexpr (sizeof...(Ts) == 0) {
    return {};
  } else {
    using first = std::decay_t<std::tuple_element_t<0, std::tuple<Ts...>>>;
    if constexpr (detail::is_atom_constant<first>::value)
      return to_string(std::get<0>(msg));
    else
      return caf::detail::pretty_type_name(typeid(first));
  }
}

} // namespace troupe::chaos
