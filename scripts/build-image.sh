#!/usr/bin/env bash
# Builds the fluxguard image with buildah, without a daemon and without registry access
# (these machines reach no container registry): `buildah from scratch` plus the same layout as
# the Dockerfile's final stage: Node 24 and the shared libraries it links, the compiled
# JavaScript and the production node_modules, a non-root user, no shell, no package manager.
# The release pipeline builds the Dockerfile instead (distroless base, multi-arch).
#
#   scripts/build-image.sh [TAG] [--oci-archive FILE] [--check]
#
# --check runs the image's entrypoint in the image's root file system (chroot, as uid 65532)
# and checks there is no shell. Needs root (buildah, chroot) and `npm run build` done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tag=localhost/fluxguard:dev archive="" check=0
while [ $# -gt 0 ]; do
  case $1 in
    --oci-archive) archive=$2; shift ;;
    --check) check=1 ;;
    *) tag=$1 ;;
  esac
  shift
done
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
command -v buildah >/dev/null || { echo "build-image: buildah is not installed (apt-get install buildah)" >&2; exit 2; }
[ -f dist/src/bin/fluxguard.js ] || { echo "build-image: run npm run build first" >&2; exit 2; }
node=$(readlink -f "$(command -v node)")
stage=$(mktemp -d)
ctr=""
cleanup() { [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1; rm -rf "$stage"; }
trap cleanup EXIT

mkdir -p "$stage/app/dist" "$stage/nodejs/bin" "$stage/etc" "$stage/tmp" "$stage/home/nonroot"
cp package.json package-lock.json "$stage/app/"
(cd "$stage/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
cp -r dist/src "$stage/app/dist/src"
rm -rf "$stage/app/dist/src/e2e" "$stage/app/dist/src/testing"
find "$stage/app/dist" \( -name '*.test.js' -o -name '*.test.js.map' -o -name fixtures -o -name golden \) -prune -exec rm -rf {} +
cp -r schemas "$stage/app/schemas"
cp "$node" "$stage/nodejs/bin/node"
# Node's shared libraries (glibc, libstdc++, ...) and the dynamic loader, from this machine.
for lib in $(ldd "$node" | awk '/=>/ && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}'); do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$stage/etc/group"
chmod 1777 "$stage/tmp"
chown 65532:65532 "$stage/home/nonroot"

ctr=$(buildah from scratch)
buildah copy "$ctr" "$stage" / >/dev/null
buildah config --user 65532:65532 --workingdir /app --port 8080 \
  --env NODE_ENV=production \
  --entrypoint '["/nodejs/bin/node", "/app/dist/src/bin/fluxguard.js"]' --cmd '["monitor", "--listen=0.0.0.0:8080"]' \
  --label org.opencontainers.image.title=fluxguard \
  --label "org.opencontainers.image.version=$(node -p 'require("./package.json").version')" "$ctr"
buildah commit --quiet "$ctr" "$tag" >/dev/null
echo "built $tag ($(buildah images --format '{{.Size}}' "$tag" | head -1))"
if [ -n "$archive" ]; then buildah push --quiet "$tag" "oci-archive:$archive" && echo "wrote $archive"; fi

if [ $check -eq 1 ]; then
  c2=$(buildah from "$tag")
  mnt=$(buildah mount "$c2")
  fail=0
  for sh in bin/sh bin/bash usr/bin/sh; do [ -e "$mnt/$sh" ] && { echo "check: $sh exists in the image" >&2; fail=1; }; done
  user=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$tag")
  [ "$user" = "65532:65532" ] || { echo "check: image user is '$user'" >&2; fail=1; }
  if out=$(chroot --userspec=65532:65532 "$mnt" /nodejs/bin/node /app/dist/src/bin/fluxguard.js --version 2>&1); then
    echo "check: entrypoint runs as 65532 without a shell: $out"
  else
    echo "check: entrypoint failed: $out" >&2; fail=1
  fi
  if ! chroot --userspec=65532:65532 "$mnt" /nodejs/bin/node /app/dist/src/bin/fluxguard.js monitor --help >/dev/null 2>&1; then
    echo "check: monitor --help failed" >&2; fail=1
  fi
  buildah umount "$c2" >/dev/null; buildah rm "$c2" >/dev/null
  exit $fail
fi
