#!/usr/bin/env bash
# Builds .gpu/ (git-ignored) for scripts/gpu-checks.sh on a GPU machine without Node.js or
# network: a Node.js binary (xz), the Vulkan loader and GL libraries as Debian packages, one
# esbuild bundle of the CLI, and the few packages it loads at run time (tfjs-core, the webgpu
# backend, Dawn for Node, junit-report-builder), and jsonschema for the GPU machine's Python
# (put .gpu/pylib on PYTHONPATH there). See ../shared/GPU.md for the recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
(cd "$tools" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent \
  esbuild webgpu @tensorflow/tfjs-backend-webgpu@4.22.0)
rm -rf .gpu && mkdir -p .gpu/node_modules
"$tools/node_modules/.bin/esbuild" dist/cli/main.js --bundle --platform=node --format=esm \
  --target=node20 --outfile=.gpu/cli.mjs --log-level=warning \
  --external:@tensorflow/tfjs-core --external:webgpu --external:@tensorflow/tfjs-backend-webgpu \
  --external:@tensorflow/tfjs-backend-wasm --external:playwright-core --external:junit-report-builder \
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
nm=.gpu/node_modules
mkdir -p "$nm/@tensorflow/tfjs-core/dist" "$nm/@tensorflow/tfjs-backend-webgpu/dist" "$nm/webgpu/dist"
cp node_modules/@tensorflow/tfjs-core/package.json "$nm/@tensorflow/tfjs-core/"
cp node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js "$nm/@tensorflow/tfjs-core/dist/"
cp "$tools/node_modules/@tensorflow/tfjs-backend-webgpu/package.json" "$nm/@tensorflow/tfjs-backend-webgpu/"
cp "$tools/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js" "$nm/@tensorflow/tfjs-backend-webgpu/dist/"
cp "$tools/node_modules/webgpu/package.json" "$tools/node_modules/webgpu/index.js" "$nm/webgpu/"
cp -r "$tools/node_modules/webgpu/dist/linux-x64" "$nm/webgpu/dist/"
for dep in long seedrandom node-fetch whatwg-url tr46 webidl-conversions; do
  cp -r "$tools/node_modules/$dep" "$nm/"
done
for dep in junit-report-builder lodash make-dir xmlbuilder semver; do
  [ -d "node_modules/$dep" ] && cp -r "node_modules/$dep" "$nm/"
done
# The worker's one dependency beyond torch, for the GPU machine's Python 3.12.
python3 -m pip install -q --target .gpu/pylib --python-version 3.12 --only-binary=:all: \
  --platform manylinux2014_x86_64 --implementation cp jsonschema==4.26.0
cp "$(command -v node)" .gpu/node && xz -T2 .gpu/node
(cd .gpu && apt-get download -q libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
  libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libxext6)
du -sh .gpu
