#!/usr/bin/env bash
# Runs the C unit tests (built as build/test-unit) so prove reads their TAP.
exec "${UNIT_BIN:-$(dirname "$0")/../../build/test-unit}"
