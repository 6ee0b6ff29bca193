#include "pods/manifests.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

namespace troupe::testing {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string base64_decode(std::string in) {
  // Long values may come wrapped over several lines.
  std::erase_if(in, [](char ch) { return std::isspace(static_cast<unsigned char>(ch)); });
  std::string out(in.size() / 4 * 3 + 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  if (n < 0)
    throw std::runtime_error("bad base64 in a Secret");
  // EVP_DecodeBlock counts the bytes the padding stands for.
  auto padding = in.size() - in.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

/// A Kubernetes quantity ("512Mi", "1G", "250m", "2") in base units.
double quantity(const json& q) {
  if (q.is_number())
    return q.get<double>();
  auto s = q.get<std::string>();
  static const std::vector<std::pair<std::string, double>> suffixes{
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"k", 1e3},
      {"M", 1e6},     {"G", 1e9},        {"m", 1e-3}};
  for (const auto& [suffix, factor] : suffixes)
    if (s.size() > suffix.size() && s.ends_with(suffix))
      return std::stod(s.substr(0, s.size() - suffix.size())) * factor;
  return std::stod(s);
}

std::optional<probe> probe_of(const json& c, const char* key,
                              const std::map<std::string, uint16_t>& ports) {
  if (!c.contains(key))
    return std::nullopt;
  const auto& p = c[key];
  probe out;
  out.period_seconds = p.value("periodSeconds", 10);
  out.failure_threshold = p.value("failureThreshold", 3);
  if (p.contains("httpGet")) {
    out.path = p["httpGet"].value("path", "/");
    const auto& port = p["httpGet"]["port"];
    out.port = port.is_string() ? ports.at(port.get<std::string>()) : port.get<uint16_t>();
  } else if (p.contains("exec")) {
    out.exec = p["exec"]["command"].get<std::vector<std::string>>();
  } else if (p.contains("tcpSocket")) {
    const auto& port = p["tcpSocket"]["port"];
    out.port = port.is_string() ? ports.at(port.get<std::string>()) : port.get<uint16_t>();
  }
  return out;
}

std::string field_of(const std::string& path, const pod_identity& id) {
  if (path == "metadata.name")
    return id.name;
  if (path == "metadata.namespace")
    return id.ns;
  if (path == "status.podIP")
    return id.ip;
  throw std::runtime_error("the test does not know the downward API field " + path);
}

void write_file(const fs::path& file, const std::string& content, int mode, int64_t group) {
  std::ofstream{file, std::ios::binary} << content;
  ::chmod(file.c_str(), static_cast<mode_t>(mode));
  if (group >= 0 && ::chown(file.c_str(), 0, static_cast<gid_t>(group)) != 0)
    throw std::runtime_error("chown " + file.string());
}

} // namespace

manifests::manifests(json objects) : objects_(std::move(objects)) {}

const json& manifests::get(const std::string& kind, const std::string& name) const {
  for (const auto& o : objects_)
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name)
      return o;
  throw std::runtime_error("the rendered manifests have no " + kind + " " + name);
}

std::vector<const json*> manifests::all(const std::string& kind) const {
  std::vector<const json*> out;
  for (const auto& o : objects_)
    if (o.value("kind", "") == kind)
      out.push_back(&o);
  return out;
}

std::map<std::string, std::string> manifests::data_of(const std::string& kind,
                                                      const std::string& name) const {
  const auto& o = get(kind, name);
  std::map<std::string, std::string> out;
  if (o.contains("data"))
    for (const auto& [k, v] : o["data"].items())
      out[k] = kind == "Secret" ? base64_decode(v.get<std::string>()) : v.get<std::string>();
  if (o.contains("stringData"))
    for (const auto& [k, v] : o["stringData"].items())
      out[k] = v.get<std::string>();
  return out;
}

pod_plan plan_pod(const manifests& m, const json& workload, const pod_identity& id,
                  const std::string& volumes) {
  const auto& spec = workload["spec"]["template"]["spec"];
  const auto& c = spec["containers"][0];
  pod_plan plan;
  plan.name = id.name;
  plan.image = c["image"].get<std::string>();
  plan.command = c.value("command", std::vector<std::string>{});
  plan.args = c.value("args", std::vector<std::string>{});
  plan.grace_seconds = spec.value("terminationGracePeriodSeconds", 30);
  if (c.contains("ports"))
    for (const auto& p : c["ports"])
      if (p.contains("name"))
        plan.ports[p["name"].get<std::string>()] = p["containerPort"].get<uint16_t>();

  // Environment: envFrom first, then env, which wins (as in Kubernetes).
  if (c.contains("envFrom"))
    for (const auto& from : c["envFrom"]) {
      auto kind = from.contains("secretRef") ? "Secret" : "ConfigMap";
      const auto& ref = from.contains("secretRef") ? from["secretRef"] : from["configMapRef"];
      for (auto& [k, v] : m.data_of(kind, ref["name"].get<std::string>()))
        plan.env[from.value("prefix", "") + k] = v;
    }
  if (c.contains("env"))
    for (const auto& e : c["env"]) {
      auto name = e["name"].get<std::string>();
      if (e.contains("value")) {
        plan.env[name] = e["value"].get<std::string>();
        continue;
      }
      const auto& from = e["valueFrom"];
      if (from.contains("fieldRef"))
        plan.env[name] = field_of(from["fieldRef"]["fieldPath"].get<std::string>(), id);
      else if (from.contains("secretKeyRef"))
        plan.env[name] = m.data_of("Secret", from["secretKeyRef"]["name"].get<std::string>())
                             .at(from["secretKeyRef"]["key"].get<std::string>());
      else if (from.contains("configMapKeyRef"))
        plan.env[name] = m.data_of("ConfigMap", from["configMapKeyRef"]["name"].get<std::string>())
                             .at(from["configMapKeyRef"]["key"].get<std::string>());
    }

  // Security: the container's context over the pod's.
  json sec = spec.value("securityContext", json::object());
  json own = c.value("securityContext", json::object());
  for (const auto& [k, v] : own.items())
    sec[k] = v;
  int64_t fs_group = sec.value("fsGroup", int64_t{-1});
  if (sec.contains("runAsUser")) {
    plan.run_as_user = sec["runAsUser"].get<int64_t>();
    plan.flags.push_back("--user=" + std::to_string(*plan.run_as_user) + ":" +
                         std::to_string(sec.value("runAsGroup", *plan.run_as_user)));
  }
  plan.run_as_non_root = sec.value("runAsNonRoot", false);
  plan.read_only_root = sec.value("readOnlyRootFilesystem", false);
  if (plan.read_only_root) {
    // Kubernetes adds no writable /tmp or /run: neither may podman.
    plan.flags.push_back("--read-only");
    plan.flags.push_back("--read-only-tmpfs=false");
  }
  if (!sec.value("allowPrivilegeEscalation", true))
    plan.flags.push_back("--security-opt=no-new-privileges");
  if (sec.contains("capabilities")) {
    for (const auto& cap : sec["capabilities"].value("drop", json::array()))
      plan.flags.push_back("--cap-drop=" + cap.get<std::string>());
    for (const auto& cap : sec["capabilities"].value("add", json::array()))
      plan.flags.push_back("--cap-add=" + cap.get<std::string>());
  }

  // Limits become the container's cgroup limits.
  if (c.contains("resources") && c["resources"].contains("limits")) {
    const auto& limits = c["resources"]["limits"];
    if (limits.contains("memory"))
      plan.flags.push_back("--memory=" +
                           std::to_string(static_cast<int64_t>(quantity(limits["memory"]))));
    if (limits.contains("cpu"))
      plan.flags.push_back("--cpus=" + std::to_string(quantity(limits["cpu"])));
  }

  // Volumes: Secrets and ConfigMaps as files, emptyDirs as tmpfs, claims as folders.
  std::map<std::string, json> vols;
  for (const auto& v : spec.value("volumes", json::array()))
    vols[v["name"].get<std::string>()] = v;
  for (const auto& t : workload["spec"].value("volumeClaimTemplates", json::array()))
    vols[t["metadata"]["name"].get<std::string>()] = json{{"claim", true}};
  for (const auto& mount : c.value("volumeMounts", json::array())) {
    auto name = mount["name"].get<std::string>();
    auto path = mount["mountPath"].get<std::string>();
    const auto& v = vols.at(name);
    fs::path dir = fs::path{volumes} / id.name / name;
    if (v.contains("emptyDir")) {
      // An emptyDir is a fresh folder anyone in the pod may write (mode 0777); nothing of
      // the image's folder at that path is copied in.
      plan.flags.push_back("--tmpfs=" + path + ":rw,mode=0777,notmpcopyup");
      continue;
    }
    fs::create_directories(dir);
    if (v.contains("secret") || v.contains("configMap")) {
      bool secret = v.contains("secret");
      const auto& src = secret ? v["secret"] : v["configMap"];
      auto data = m.data_of(secret ? "Secret" : "ConfigMap",
                            src[secret ? "secretName" : "name"].get<std::string>());
      int mode = src.value("defaultMode", 0644);
      for (const auto& [k, value] : data)
        write_file(dir / k, value, mode, fs_group);
    } else if (v.contains("claim")) {
      auto owner = plan.run_as_user.value_or(0);
      if (::chown(dir.c_str(), static_cast<uid_t>(owner),
                  static_cast<gid_t>(fs_group >= 0 ? fs_group : owner)) != 0)
        throw std::runtime_error("chown " + dir.string());
    } else {
      throw std::runtime_error("the test does not know the kind of volume " + name);
    }
    plan.flags.push_back("--volume=" + dir.string() + ":" + path +
                         (mount.value("readOnly", false) ? ":ro" : ""));
  }

  plan.startup = probe_of(c, "startupProbe", plan.ports);
  plan.liveness = probe_of(c, "livenessProbe", plan.ports);
  plan.readiness = probe_of(c, "readinessProbe", plan.ports);
  if (c.contains("lifecycle") && c["lifecycle"].contains("preStop") &&
      c["lifecycle"]["preStop"].contains("sleep"))
    plan.pre_stop_seconds = c["lifecycle"]["preStop"]["sleep"].value("seconds", 0);
  return plan;
}

} // namespace troupe::testing
