#include "troupe/http/response.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace troupe::http {

namespace {

response make(status code, std::string body, std::string_view content_type) {
  response res{code, 11};
  res.set(boost::beast::http::field::content_type, beast_view(content_type));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Replacing invalid UTF-8 keeps serialization from throwing on text taken from clients.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::string problem_type_uri(std::string_view type_suffix) {
  std::string uri{problem_type_base};
  uri += type_suffix;
  return uri;
}

response json_response(status code, const nlohmann::json& body) {
  return make(code, dump(body), "application/json");
}

response text_response(status code, std::string body, std::string content_type) {
  return make(code, std::move(body), content_type);
}

response problem_response(status code, std::string_view type_suffix, std::string title,
                          std::string detail, std::string instance) {
  nlohmann::json body{{"type", problem_type_uri(type_suffix)},
                      {"title", std::move(title)},
                      {"status", static_cast<unsigned>(code)}};
  if (!detail.empty())
    body["detail"] = std::move(detail);
  if (!instance.empty())
    body["instance"] = std::move(instance);
  return make(code, dump(body), problem_content_type);
}

} // namespace troupe::http
