# Shared by the scripts that build or run images: podman and buildah configured to keep all
# their state in one cache folder, with runc and host-safe defaults. Source it, don't run it.
#
# Nothing here touches the system's container folders or the host's firewall: networks are
# only ever created inside a network namespace of the caller's (see tests/pods).

TROUPE_IMAGE_CACHE="${TROUPE_IMAGE_CACHE:-$HOME/.cache/troupe-image}"
TROUPE_CONTAINER_PACKAGES=(podman buildah debootstrap runc netavark aardvark-dns catatonit iptables)

# Writes the two configuration files (once) and exports the variables podman reads.
troupe_containers_env() {
  local dir="$TROUPE_IMAGE_CACHE"
  mkdir -p "$dir/storage" "$dir/run" "$dir/networks" "$dir/tmp"
  # crun fails on these machines' hybrid cgroups; runc works. The ulimits stay under the
  # shell's hard limits, or runc refuses to start a container.
  cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/run/events.log"
image_copy_tmp_dir = "$dir/tmp"
[network]
network_backend = "netavark"
network_config_dir = "$dir/networks"
CONF
  cat >"$dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run"
CONF
  export CONTAINERS_CONF="$dir/containers.conf"
  export CONTAINERS_STORAGE_CONF="$dir/storage.conf"
  export TMPDIR="$dir/tmp"
}
