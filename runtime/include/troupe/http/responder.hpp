#pragma once

#include <functional>

#include "troupe/http/message.hpp"

namespace troupe::http {

/// The one-shot answer channel of a request: invoke it exactly once, from any thread.
///
/// Dropping an unanswered responder answers 500 so a lost callback never leaves a
/// client hanging. Invoking it after its connection is gone does nothing.
class responder {
public:
  /// Where the response goes; the server's sink posts it to the connection's strand.
  using sink = std::function<void(response)>;

  /// Creates an empty responder that ignores answers.
  responder() noexcept = default;

  /// Creates a responder that hands its single response to `out`.
  explicit responder(sink out) noexcept : out_(std::move(out)) {}

  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// Takes over `other`'s obligation to answer; `other` becomes empty.
  responder(responder&& other) noexcept;

  /// Answers 500 for a still-pending obligation of `*this`, then takes over `other`'s.
  responder& operator=(responder&& other) noexcept;

  /// Answers 500 if the responder was never invoked.
  ~responder();

  /// Sends `res`; only the first answer counts, later calls do nothing.
  void operator()(response res);

  /// Returns whether an answer is still owed.
  bool pending() const noexcept { return static_cast<bool>(out_); }

private:
  void abandon() noexcept;

  sink out_;
};

} // namespace troupe::http
