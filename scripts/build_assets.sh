#!/usr/bin/env bash
# Rebuild the vendored front-end assets under static/vendor/ from the npm
# packages pinned in package.json / package-lock.json.
#
# The app never reads node_modules: it serves the copies this script writes,
# which are committed. Wards have locked-down networks, so nothing here may
# make the browser call another host (no CDN, no webfont server).
#
# Usage: bash scripts/build_assets.sh    (called by `make assets`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENDOR="static/vendor"

# Install exactly what the lockfile says. No install scripts: nothing we copy
# needs one (sass runs as plain JavaScript).
npm ci --no-audit --no-fund --ignore-scripts

version_of() {
  node -p "require('./node_modules/$1/package.json').version"
}

HTMX_VERSION="$(version_of htmx.org)"
SSE_VERSION="$(version_of htmx-ext-sse)"
NHSUK_VERSION="$(version_of nhsuk-frontend)"
AXE_VERSION="$(version_of axe-core)"
SWAGGER_VERSION="$(version_of swagger-ui-dist)"

case "$HTMX_VERSION" in
  2.0.*) ;;
  *) echo "htmx.org must be 2.0.x (got $HTMX_VERSION): htmx 4 changes swapping and history" >&2; exit 1 ;;
esac

# Drop the old copies of our packages so a version bump leaves no stale directory.
mkdir -p "$VENDOR"
rm -rf "$VENDOR"/htmx-[0-9]* "$VENDOR"/htmx-ext-sse-* "$VENDOR"/nhsuk-frontend-* "$VENDOR"/axe-core-* "$VENDOR"/swagger-ui-dist-*

# Minified files end with a sourceMappingURL comment; we do not ship the maps,
# so remove the comment rather than have devtools ask for a file we 404.
strip_source_map() {
  sed -i -e 's|//# sourceMappingURL=[^ ]*$||' "$1"
}

# htmx
HTMX_DIR="$VENDOR/htmx-$HTMX_VERSION"
mkdir -p "$HTMX_DIR"
cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE "$HTMX_DIR/"

# htmx server-sent events extension
SSE_DIR="$VENDOR/htmx-ext-sse-$SSE_VERSION"
mkdir -p "$SSE_DIR"
cp node_modules/htmx-ext-sse/dist/sse.min.js node_modules/htmx-ext-sse/LICENSE "$SSE_DIR/"

# NHS.UK frontend: our own CSS build, the ES module bundle, images.
NHSUK_SRC="node_modules/nhsuk-frontend/dist/nhsuk"
NHSUK_DIR="$VENDOR/nhsuk-frontend-$NHSUK_VERSION"
mkdir -p "$NHSUK_DIR/css" "$NHSUK_DIR/js" "$NHSUK_DIR/assets/images"

cp "$NHSUK_SRC/nhsuk-frontend.min.js" "$NHSUK_DIR/js/"
strip_source_map "$NHSUK_DIR/js/nhsuk-frontend.min.js"

# Favicons, touch icons, mask icon and the SVG icons the CSS points at.
# Not copied: the Open Graph image (internal service) and manifest.json (the
# web app manifest is ours to write).
for image in "$NHSUK_SRC"/assets/images/*; do
  case "$(basename "$image")" in
    nhsuk-opengraph-image.png) ;;
    *) cp "$image" "$NHSUK_DIR/assets/images/" ;;
  esac
done

# The published CSS loads Frutiger from assets.nhs.uk. Build our own with no
# @font-face (a font family without "Frutiger W01" turns it off) and the
# system stack instead. nhsuk-frontend only sets html's font-family together
# with its @font-face, so we set it here. Image URLs are relative to the CSS
# file so they stay inside this vendor directory.
node_modules/.bin/sass \
  --stdin \
  --load-path=node_modules \
  --style=compressed \
  --no-source-map \
  --no-error-css \
  "$NHSUK_DIR/css/nhsuk-frontend.min.css" <<'SCSS'
@use "nhsuk-frontend/dist/nhsuk" as nhsuk with (
  $nhsuk-font-family: (arial, sans-serif),
  $nhsuk-include-default-font-face: false,
  $nhsuk-images-path: "../assets/images/"
);

html {
  font-family: nhsuk.$nhsuk-font-family;
}
SCSS

if grep -q -E "@font-face|https?://" "$NHSUK_DIR/css/nhsuk-frontend.min.css"; then
  echo "nhsuk-frontend CSS still refers to a webfont or another host" >&2
  exit 1
fi

# axe-core: only for the browser accessibility tests, never linked from a page.
AXE_DIR="$VENDOR/axe-core-$AXE_VERSION"
mkdir -p "$AXE_DIR"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$AXE_DIR/"

echo "Vendored into $VENDOR:"
# Swagger UI for the API documentation at /docs (FastAPI's default page loads it from a CDN).
SWAGGER_DIR="$VENDOR/swagger-ui-dist-$SWAGGER_VERSION"
mkdir -p "$SWAGGER_DIR"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
  node_modules/swagger-ui-dist/LICENSE "$SWAGGER_DIR/"
strip_source_map "$SWAGGER_DIR/swagger-ui-bundle.js"
sed -i -e 's|/\*# sourceMappingURL=[^ ]*\*/||' "$SWAGGER_DIR/swagger-ui.css"

echo "  swagger-ui-dist-$SWAGGER_VERSION"
echo "  htmx-$HTMX_VERSION  htmx-ext-sse-$SSE_VERSION  nhsuk-frontend-$NHSUK_VERSION  axe-core-$AXE_VERSION"
echo "Update static/VENDOR.md and the paths in templates/layout.html if a version changed."
