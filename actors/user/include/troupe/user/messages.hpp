#pragma once

// The user domain's messages: what a user entity understands and answers.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe::user {

/// A user as stored, password hash included; routes strip the hash before answering.
struct user_record {
  /// Random UUID, the entity key.
  std::string id;
  /// Normalised (trimmed, lower-case) and unique.
  std::string email;
  /// Argon2id in libsodium's encoded form.
  std::string password_hash;
  /// Free text shown to other users.
  std::string display_name;
  /// "user" or "admin".
  std::string role;
  /// Incremented by every write; writes are conditional on it (fencing).
  uint64_t version = 0;
  /// Creation time, milliseconds since the Unix epoch.
  int64_t created_at_ms = 0;
  /// Time of the last write, milliseconds since the Unix epoch.
  int64_t updated_at_ms = 0;
};

/// Makes `user_record` a CAF message type (also across nodes).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(caf::meta::type_name("troupe.user_record"), x.id, x.email, x.password_hash,
           x.display_name, x.role, x.version, x.created_at_ms, x.updated_at_ms);
}

/// The changes of one PATCH; a field applies only when its flag is set.
struct user_patch {
  /// Whether `display_name` applies.
  bool set_display_name = false;
  /// The new display name.
  std::string display_name;
  /// Whether `password_hash` applies.
  bool set_password_hash = false;
  /// The new password, already hashed.
  std::string password_hash;
  /// Whether `role` applies (admin bootstrap only).
  bool set_role = false;
  /// The new role.
  std::string role;
};

/// Makes `user_patch` a CAF message type.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_patch& x) {
  return f(caf::meta::type_name("troupe.user_patch"), x.set_display_name, x.display_name,
           x.set_password_hash, x.password_hash, x.set_role, x.role);
}

/// `(fetch_atom) -> user_record`: the current state.
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
/// `(create_atom, user_record) -> user_record`: the first write of a new user.
using create_atom = caf::atom_constant<caf::atom("create")>;
/// `(update_atom, user_patch) -> user_record`: a conditional write.
using update_atom = caf::atom_constant<caf::atom("update")>;
/// `(remove_atom) -> bool`: deletes the user; the entity passivates.
using remove_atom = caf::atom_constant<caf::atom("remove")>;

/// The entity kind name of users.
inline constexpr const char* entity_kind_name = "user";

} // namespace troupe::user
