#!/bin/sh
# provision.sh create|revert STEP: one step of the provisioning example. Each resource is a
# directory under $PLAIT_IN_STATE_DIR holding an `owner` file (the run that created it) and
# what describes it. Every creation and every revert is logged to $PLAIT_IN_STATE_DIR/journal.log.
#
# plait gives the inputs as PLAIT_IN_<NAME> variables: STATE_DIR, NAME, BREAK_AT and
# BREAK_REVERT_AT for every step, plus what the step requires (NETWORK, VOLUME, VM, HOSTNAME).
set -eu
action=$1 step=$2
state=$PLAIT_IN_STATE_DIR
name=$PLAIT_IN_NAME
journal="$state/journal.log"

log() { echo "$1" >> "$journal"; }
fail() { echo "$step: $1" >&2; exit 1; }

case $step in
    create_network) resource="network-$name" ;;
    create_volume) resource="volume-$name" ;;
    create_vm) resource="vm-$name" ;;
    configure_dns) resource="dns-$name" ;;
    health_check) resource="monitor-$name" ;;
    *) fail "unknown step" ;;
esac
dir="$state/$resource"

if [ "$action" = revert ]; then
    # Reverting must cope with a partial effect: the step may have failed, or been cancelled,
    # before it created anything. And it removes only what this run created.
    if [ "$PLAIT_IN_BREAK_REVERT_AT" = "$step" ]; then
        fail "cannot remove $resource: the (simulated) API refused (break_revert_at=$step)"
    fi
    if [ ! -d "$dir" ]; then
        echo "$step: nothing to revert, $resource was never created" >&2
        exit 0
    fi
    owner=$(cat "$dir/owner" 2>/dev/null || true)
    if [ "$owner" != "$PLAIT_RUN_ID" ]; then
        echo "$step: $resource belongs to run $owner, leaving it" >&2
        exit 0
    fi
    rm -rf "$dir"
    log "reverted $step"
    exit 0
fi

mkdir -p "$state"
if [ "$PLAIT_IN_BREAK_AT" = "$step" ]; then
    fail "cannot create $resource: the (simulated) API failed (break_at=$step)"
fi

# Each step prints its outputs as one JSON object.
output() {
    case $step in
        create_network) printf '{"network": "%s"}\n' "$resource" ;;
        create_volume) printf '{"volume": "%s"}\n' "$resource" ;;
        create_vm) printf '{"vm": "%s"}\n' "$resource" ;;
        configure_dns) printf '{"hostname": "%s.plait.test"}\n' "$name" ;;
        health_check) printf '{"endpoint": "http://%s/"}\n' "$PLAIT_IN_HOSTNAME" ;;
    esac
}

if [ -d "$dir" ]; then
    echo "$step: $resource already exists (made by run $(cat "$dir/owner")), keeping it" >&2
    log "kept $step"
    output
    exit 0
fi

# Build the resource beside its final name and rename it into place, so that a crash never
# leaves something that looks complete.
tmp="$state/.$resource.tmp"
rm -rf "$tmp"
mkdir "$tmp"
echo "$PLAIT_RUN_ID" > "$tmp/owner"
case $step in
    create_network)
        echo "10.20.0.0/24" > "$tmp/subnet" ;;
    create_volume)
        # A small sparse-free disk image of 64 KiB.
        head -c 65536 /dev/zero > "$tmp/disk.img" ;;
    create_vm)
        [ -d "$state/$PLAIT_IN_NETWORK" ] || fail "network $PLAIT_IN_NETWORK does not exist"
        [ -d "$state/$PLAIT_IN_VOLUME" ] || fail "volume $PLAIT_IN_VOLUME does not exist"
        printf 'network = %s\nvolume = %s\naddress = 10.20.0.10\n' \
            "$PLAIT_IN_NETWORK" "$PLAIT_IN_VOLUME" > "$tmp/config" ;;
    configure_dns)
        [ -f "$state/$PLAIT_IN_VM/config" ] || fail "vm $PLAIT_IN_VM does not exist"
        address=$(sed -n 's/^address = //p' "$state/$PLAIT_IN_VM/config")
        printf '%s.plait.test. 300 IN A %s\n' "$name" "$address" > "$tmp/record" ;;
    health_check)
        # Everything the endpoint depends on must be in place and agree.
        config="$state/$PLAIT_IN_VM/config"
        [ -f "$config" ] || fail "vm $PLAIT_IN_VM has no config"
        network=$(sed -n 's/^network = //p' "$config")
        volume=$(sed -n 's/^volume = //p' "$config")
        [ -f "$state/$network/subnet" ] || fail "the vm's network $network is gone"
        [ -f "$state/$volume/disk.img" ] || fail "the vm's volume $volume is gone"
        grep -q "^$PLAIT_IN_HOSTNAME\. " "$state/dns-$name/record" ||
            fail "no DNS record for $PLAIT_IN_HOSTNAME"
        echo "GET http://$PLAIT_IN_HOSTNAME/ every 30s" > "$tmp/check" ;;
esac
mv "$tmp" "$dir"
log "created $step"
output
