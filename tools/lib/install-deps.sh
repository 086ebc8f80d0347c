# Shared by tools/demo and tools/test: installs the Debian packages Canopy builds and
# tests with, only those that are missing, so a fresh machine with just the Swift
# toolchain works.
CANOPY_APT_PACKAGES=(pkg-config libopus-dev libogg-dev libsndfile1-dev sox ffmpeg opus-tools)

install_deps() {
    local missing=()
    for package in "${CANOPY_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "canopy: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
