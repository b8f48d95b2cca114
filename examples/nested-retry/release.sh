#!/bin/sh
# release.sh STEP [revert]: one step of the release example. Inputs come as PLAIT_IN_<NAME>
# variables; every step appends what it did to $PLAIT_IN_STATE_DIR/journal.log.
set -eu
step=$1
state=$PLAIT_IN_STATE_DIR
log() { echo "$1" >> "$state/journal.log"; }

if [ "${2-}" = revert ]; then
    case $step in
        compile) rm -f "$state/build/app-$PLAIT_IN_VERSION.sh" ;;
        stage) rm -f "$state/staging/app-$PLAIT_IN_VERSION.sh" ;;
        upload) rm -rf "$state/releases/$PLAIT_IN_VERSION" ;;
        announce) rm -f "$state/announcements/$PLAIT_IN_VERSION.txt" ;;
    esac
    log "reverted $step"
    exit 0
fi

mkdir -p "$state"
case $step in
    compile)
        # "Compiling" bakes the version into a copy of the source.
        mkdir -p "$state/build"
        out="$state/build/app-$PLAIT_IN_VERSION.sh"
        sed "s/\${APP_VERSION:-dev}/$PLAIT_IN_VERSION/" src/app.sh > "$out"
        out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
        log "compiled $PLAIT_IN_VERSION"
        printf '{"artifact": "%s"}\n' "$out" ;;
    unit)
        got=$(sh "$PLAIT_IN_ARTIFACT")
        [ "$got" = "hello from app $PLAIT_IN_VERSION" ] || { echo "unit: got \`$got\`" >&2; exit 1; }
        log "tested unit" ;;
    lint)
        sh -n "$PLAIT_IN_ARTIFACT"
        log "tested lint" ;;
    stage)
        mkdir -p "$state/staging"
        cp "$PLAIT_IN_ARTIFACT" "$state/staging/app-$PLAIT_IN_VERSION.sh"
        dir=$(cd "$state/staging" && pwd)
        log "staged"
        printf '{"staged": "%s"}\n' "$dir/app-$PLAIT_IN_VERSION.sh" ;;
    upload)
        # A flaky server: the first UPLOAD_FAILURES uploads of this run fail. The count lives in
        # a marker file, as it must outlive the attempt (and the revert of `publish`).
        marker="$state/.upload-failures-$PLAIT_RUN_ID"
        failures=$(cat "$marker" 2>/dev/null || echo 0)
        if [ "$failures" -lt "$PLAIT_IN_UPLOAD_FAILURES" ]; then
            echo $((failures + 1)) > "$marker"
            log "upload failed"
            echo "upload: connection reset by releases.plait.test (simulated failure $((failures + 1)) of $PLAIT_IN_UPLOAD_FAILURES)" >&2
            exit 1
        fi
        rm -f "$marker"
        mkdir -p "$state/releases/$PLAIT_IN_VERSION"
        cp "$PLAIT_IN_STAGED" "$state/releases/$PLAIT_IN_VERSION/app.sh"
        log "uploaded"
        printf '{"url": "https://releases.plait.test/app/%s/app.sh"}\n' "$PLAIT_IN_VERSION" ;;
    announce)
        mkdir -p "$state/announcements"
        text="app $PLAIT_IN_VERSION is out: $PLAIT_IN_URL"
        echo "$text" > "$state/announcements/$PLAIT_IN_VERSION.txt"
        log "announced"
        printf '{"announcement": "%s"}\n' "$text" ;;
    *) echo "release: unknown step \`$step\`" >&2; exit 1 ;;
esac
