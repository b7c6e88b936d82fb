#!/bin/sh
# libphx unit tests (C, TAP)
exec "${PHX_UNIT:-$(dirname "$0")/unit/phx-unit}"
