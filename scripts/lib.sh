# Shared helpers for Laurel's scripts (sourced, not run).
# shellcheck shell=bash

# Path of a Foundry tool (forge, anvil, cast) from the npm packages. The npm wrapper in node_modules/.bin
# always exits 0 (foundry-rs/foundry#14781), so scripts call the platform binary it would run.
foundry_bin() {
  local tool="$1" os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "unsupported OS $(uname -s) for the npm Foundry packages" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "unsupported CPU $(uname -m) for the npm Foundry packages" >&2; return 1 ;;
  esac
  local bin="$LAUREL_ROOT/node_modules/@foundry-rs/$tool-$os-$arch/bin/$tool"
  if [ ! -x "$bin" ]; then
    echo "$tool is not installed ($bin missing); run scripts/setup" >&2
    return 1
  fi
  echo "$bin"
}
