#!/bin/sh
# The "application" this example releases: it greets.
echo "hello from app ${APP_VERSION:-dev}"
