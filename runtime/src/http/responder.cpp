#include "troupe/http/responder.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include "troupe/http/response.hpp"

namespace troupe::http {

responder::responder(responder&& other) noexcept : out_(std::exchange(other.out_, nullptr)) {}

responder& responder::operator=(responder&& other) noexcept {
  if (this != &other) {
    abandon();
    out_ = std::exchange(other.out_, nullptr);
  }
  return *this;
}

responder::~responder() {
  abandon();
}

void responder::operator()(response res) {
  // Clearing first makes a second call (or the destructor) a no-op even if the sink throws.
  if (auto out = std::exchange(out_, nullptr))
    out(std::move(res));
}

void responder::abandon() noexcept {
  auto out = std::exchange(out_, nullptr);
  if (!out)
    return;
  try {
    out(problem_response(status::internal_server_error, problem::internal, "Internal Server Error",
                         "the request handler finished without producing a response"));
  } catch (const std::exception& e) {
    spdlog::error("http: cannot answer an abandoned request: {}", e.what());
  } catch (...) {
    spdlog::error("http: cannot answer an abandoned request");
  }
}

} // namespace troupe::http
