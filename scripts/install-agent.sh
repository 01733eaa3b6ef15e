#!/usr/bin/env bash
# Installs the Flotilla agent on this host and registers it with a control service (modelled on
# ECS Anywhere's ecs-anywhere-install.sh). Run as root. Safe to run again: a registered, running
# install with the same binary and settings is left alone.
#
# Usage:
#   install-agent.sh --control http://CONTROL:8080 --activation-id ID --activation-code CODE [options]
#   install-agent.sh --region R --cluster C --activation-id ID --activation-code CODE --ecs-endpoint http://CONTROL:8080
#                                 (ECS Anywhere's ecs-anywhere-install.sh flags, e.g. from `aws ssm create-activation`)
#   install-agent.sh --uninstall [--deregister --control URL --token TOKEN]
#
# Options:
#   --control URL                 control service HTTP API (the agent binary is downloaded from it)
#   --ecs-endpoint URL            the same as --control (ECS Anywhere's name for the endpoint)
#   --mqtt URL                    control service MQTT URL (default mqtt://<control host>:1883)
#   --activation-id ID            activation id (from `flotilla activations create`)
#   --activation-code CODE        activation code (on the command line it shows in ps: prefer
#                                 --activation-code-file or FLOTILLA_ACTIVATION_CODE in the environment)
#   --activation-code-file FILE   read the activation code from FILE ('-' = stdin)
#   --cluster NAME                cluster to register into (ECS_CLUSTER): an activation for any cluster
#                                 (aws ssm create-activation) joins it, default "default"; one made for
#                                 another cluster is refused
#   --region REGION               accepted for ECS Anywhere runbooks and recorded; Flotilla has no regions
#   --ca-file FILE                CA certificate for https/mqtts control URLs
#   --attribute KEY=VALUE         custom attribute (repeatable)
#   --advertise-address A         IP or DNS name other hosts reach this one at (service endpoints;
#                                 default: the host's own non-loopback IPs) — for multi-homed hosts
#   --image-pull-behavior B       default | always | once | prefer-cached
#   --keepalive-seconds S         agent MQTT keepalive, 1-65535 (default 10): a host that vanishes is
#                                 marked disconnected after 1.5 × S (see docs/operations.md)
#   --log-level L                 agent log level: trace | debug | info (default) | warn | error | fatal | silent
#                                 (JSON lines in the journal, or /var/log/flotilla-agent.log without systemd)
#   --release-public-key FILE     PEM Ed25519 release key(s): the agent accepts upgrades from the control
#                                 service only when signed with one (docs/agent-upgrades.md); without it, none
#   --docker-install-source SRC   distro (default: install the distribution's Docker when missing) | none
#                                 (ECS Anywhere's all and docker mean distro here)
#   --ecs-version V               accepted for ECS Anywhere runbooks; the control serves its own agent
#   --registration-timeout S      seconds to wait for registration (default 60)
#   --no-start                    install and configure, but do not start the agent
#   --uninstall                   stop the agent and remove its binary, unit and files
#   --deregister                  with --uninstall: also deregister the instance (needs --control and --token)
#   --token TOKEN                 API token for --deregister
#   -h, --help                    show this help
set -euo pipefail

BIN=/usr/local/bin/flotilla-agent
CONF_DIR=/etc/flotilla
ENV_FILE=$CONF_DIR/agent.env
DATA_DIR=/var/lib/flotilla
UNIT=/etc/systemd/system/flotilla-agent.service
SUPERVISOR=/usr/local/lib/flotilla/supervise
GUARD=/usr/local/lib/flotilla/upgrade-guard
SUPERVISOR_PID=/run/flotilla-agent-supervisor.pid
LOG=/var/log/flotilla-agent.log

say() { echo "[flotilla-install] $*"; }
die() { echo "flotilla-install: $*" >&2; exit 1; }
usage_error() { echo "flotilla-install: $* (see --help)" >&2; exit 2; }

control="" mqtt="" act_id="" act_code=${FLOTILLA_ACTIVATION_CODE:-} cluster="" region="" ca_file="" pull="" keepalive="" log_level="" advertise="" release_key="" docker_src=distro
reg_timeout=60 no_start=0 uninstall=0 deregister=0 token=""
attributes=()
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --control|--ecs-endpoint) need_value "$@"; control=${2%/}; shift ;;
    --region) need_value "$@"; region=$2; shift ;;
    --ecs-version) need_value "$@"; shift ;;
    --enable-gpu) usage_error "--enable-gpu is not supported: Flotilla agents do not schedule GPUs" ;;
    --skip-registration) usage_error "--skip-registration is not supported: the agent registers with the activation" ;;
    --mqtt) need_value "$@"; mqtt=$2; shift ;;
    --activation-id) need_value "$@"; act_id=$2; shift ;;
    --activation-code) need_value "$@"; act_code=$2; shift ;;
    --activation-code-file) need_value "$@"; act_code=$(cat -- "$2") || usage_error "cannot read --activation-code-file $2"; act_code=${act_code//[[:space:]]/}; shift ;;
    --cluster) need_value "$@"; cluster=$2; shift ;;
    --ca-file) need_value "$@"; ca_file=$2; shift ;;
    --attribute) need_value "$@"; [[ "$2" == ?*=* ]] || usage_error "--attribute must be KEY=VALUE, got \"$2\""; attributes+=("$2"); shift ;;
    --image-pull-behavior) need_value "$@"; pull=$2; shift ;;
    --advertise-address) need_value "$@"; advertise=$2; shift ;;
    --keepalive-seconds) need_value "$@"; keepalive=$2; shift ;;
    --log-level) need_value "$@"; log_level=$2; shift ;;
    --release-public-key) need_value "$@"; release_key=$2; shift ;;
    --docker-install-source) need_value "$@"; docker_src=$2; shift ;;
    --registration-timeout) need_value "$@"; reg_timeout=$2; shift ;;
    --token) need_value "$@"; token=$2; shift ;;
    --no-start) no_start=1 ;;
    --uninstall) uninstall=1 ;;
    --deregister) deregister=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option \"$1\"" ;;
  esac
  shift
done

# ---- checks that need no network -------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (try: sudo $0 ...)"

case "$docker_src" in distro|none) ;; all|docker) docker_src=distro ;; *) usage_error "--docker-install-source must be distro or none (or ECS Anywhere's all or docker), got \"$docker_src\"" ;; esac
if [ -n "$region" ] && ! [[ "$region" =~ ^[a-z0-9-]{1,64}$ ]]; then usage_error "--region must be a region name such as us-east-1, got \"$region\""; fi
if [ -n "$cluster" ] && ! [[ "$cluster" =~ ^[A-Za-z0-9_-]{1,255}$ ]]; then usage_error "--cluster must be 1-255 letters, digits, hyphens or underscores, got \"$cluster\""; fi
case "$pull" in ""|default|always|once|prefer-cached) ;; *) usage_error "--image-pull-behavior must be default, always, once or prefer-cached, got \"$pull\"" ;; esac
case "$log_level" in ""|trace|debug|info|warn|error|fatal|silent) ;; *) usage_error "--log-level must be one of trace, debug, info, warn, error, fatal, silent, got \"$log_level\"" ;; esac
# The agent checks this too, but only once started: refuse here, before anything is installed.
if [ -n "$keepalive" ] && { ! [[ "$keepalive" =~ ^[0-9]+$ ]] || [ "${#keepalive}" -gt 5 ] || [ "$keepalive" -lt 1 ] || [ "$keepalive" -gt 65535 ]; }; then
  usage_error "--keepalive-seconds must be a whole number of seconds from 1 to 65535, got \"$keepalive\""
fi
# An IPv4/IPv6 address or a DNS name; the agent checks it exactly, this refuses it before installing.
if [ -n "$advertise" ] && ! [[ "$advertise" =~ ^[0-9A-Za-z.:-]+$ ]]; then
  usage_error "--advertise-address must be an IP address or a DNS name, got \"$advertise\""
fi
if [ -n "$release_key" ] && ! grep -q -- "-----BEGIN PUBLIC KEY-----" "$release_key" 2>/dev/null; then
  usage_error "--release-public-key must be a readable PEM public key file, got \"$release_key\""
fi
[[ "$reg_timeout" =~ ^[0-9]+$ ]] || usage_error "--registration-timeout must be a whole number of seconds, got \"$reg_timeout\""

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# curl or wget, with the activation headers the download route accepts.
http_get() { # url outfile
  local ca=()
  if command -v curl >/dev/null 2>&1; then
    [ -n "$ca_file" ] && ca=(--cacert "$ca_file")
    # Headers from a 0600 file, not argv, so the code does not show in ps.
    curl -fsSL "${ca[@]}" --retry 3 --retry-connrefused --connect-timeout 10 -H @"$hdr_file" -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    [ -n "$ca_file" ] && ca=(--ca-certificate="$ca_file")
    WGETRC=$wgetrc_file wget -q "${ca[@]}" --tries=3 -O "$2" "$1"
  else
    die "neither curl nor wget is installed; install one of them and re-run"
  fi
}

# kill -0 also succeeds on a zombie, and in containers whose PID 1 never reaps (sleep infinity) an
# exited supervisor stays one; read the process state instead.
alive() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1; [ -n "$st" ] && [ "$st" != Z ]; }

stop_agent() {
  if has_systemd && [ -f "$UNIT" ]; then
    systemctl disable --now flotilla-agent.service >/dev/null 2>&1 || true
  fi
  if [ -f "$SUPERVISOR_PID" ]; then
    local pid; pid=$(cat "$SUPERVISOR_PID")
    # The supervisor leads its own process group: signalling the group stops the agent too.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$SUPERVISOR_PID"
  fi
}

agent_running() {
  if has_systemd && [ -f "$UNIT" ]; then systemctl is-active --quiet flotilla-agent.service; return; fi
  [ -f "$SUPERVISOR_PID" ] && alive "$(cat "$SUPERVISOR_PID")"
}

identity_field() { # name -> value from identity.json (written by the agent on registration)
  [ -f "$DATA_DIR/identity.json" ] || return 0
  sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$DATA_DIR/identity.json" | head -1
}

# ---- uninstall -------------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  instance=$(identity_field instanceId)
  icluster=$(identity_field clusterName)
  stop_agent
  if [ "$deregister" = 1 ]; then
    [ -n "$control" ] && [ -n "$token" ] || usage_error "--deregister needs --control and --token"
    if [ -z "$instance" ]; then
      say "no identity found: nothing to deregister"
    else
      code=$(curl -sS -o /tmp/flotilla-deregister.out -w '%{http_code}' -X DELETE -H "authorization: Bearer $token" \
        ${ca_file:+--cacert "$ca_file"} "$control/v1/clusters/$icluster/container-instances/$instance?force=true") || code=000
      case "$code" in 2??) say "deregistered instance $instance from cluster $icluster" ;;
        *) echo "flotilla-install: deregistering $instance failed (HTTP $code): $(cat /tmp/flotilla-deregister.out 2>/dev/null)" >&2 ;; esac
      rm -f /tmp/flotilla-deregister.out
    fi
  fi
  rm -f "$UNIT" "$BIN" "$BIN.previous" "$SUPERVISOR" "$GUARD"
  has_systemd && systemctl daemon-reload >/dev/null 2>&1 || true
  rm -rf "$CONF_DIR" "$DATA_DIR"
  say "agent removed${instance:+ (was instance $instance)}; containers it started are left to Docker"
  exit 0
fi

# ---- install ---------------------------------------------------------------------------------
[ -n "$control" ] || usage_error "--control (or --ecs-endpoint) is required (the control service's HTTP API URL)"
[[ "$control" =~ ^https?://[^/]+ ]] || usage_error "--control must be an http:// or https:// URL, got \"$control\""
[ -n "$act_id" ] || usage_error "--activation-id is required"
[ -n "$act_code" ] || usage_error "--activation-code, --activation-code-file or FLOTILLA_ACTIVATION_CODE is required"
# The activation headers for the download, in 0600 files (curl -H @file, a wgetrc), not argv.
hdr_file=$(mktemp) wgetrc_file=$(mktemp)
chmod 0600 "$hdr_file" "$wgetrc_file"
printf 'x-flotilla-activation-id: %s\nx-flotilla-activation-code: %s\n' "$act_id" "$act_code" > "$hdr_file"
sed 's/^/header = /' "$hdr_file" > "$wgetrc_file"
trap 'rm -f "$hdr_file" "$wgetrc_file"' EXIT
[ -z "$ca_file" ] || [ -r "$ca_file" ] || die "--ca-file $ca_file is not readable"
if [ -z "$mqtt" ]; then
  host=${control#*://}; host=${host%%/*}; host=${host%:*}
  [[ "$control" == https://* ]] && mqtt="mqtts://$host:8883" || mqtt="mqtt://$host:1883"
fi
[[ "$mqtt" =~ ^mqtts?://[^/]+ ]] || usage_error "--mqtt must be an mqtt:// or mqtts:// URL, got \"$mqtt\""

machine=${FLOTILLA_INSTALL_MACHINE:-$(uname -m)} # the override exists for tests only
case "$machine" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported architecture \"$machine\": Flotilla agents run on x86_64 and aarch64 (64-bit Raspberry Pi OS) only" ;;
esac

docker_usable() {
  if command -v docker >/dev/null 2>&1; then docker info >/dev/null 2>&1 && return 0; fi
  # No docker CLI needed: the agent talks to the engine's socket, so ask the socket itself.
  local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
  [[ "$host" == unix://* ]] || return 1
  local sock=${host#unix://}
  [ -S "$sock" ] && command -v curl >/dev/null 2>&1 && curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

if ! docker_usable; then
  [ "$docker_src" = none ] && die "no usable Docker engine (docker info / /var/run/docker.sock failed) and --docker-install-source none; install and start Docker, then re-run"
  say "Docker engine missing: installing it from the distribution"
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq docker.io >/dev/null || die "apt-get install docker.io failed"
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q moby-engine >/dev/null 2>&1 || dnf install -y -q docker >/dev/null || die "dnf install of Docker failed"
  else
    die "cannot install Docker on this distribution: install it yourself and re-run with --docker-install-source none"
  fi
  if has_systemd; then
    systemctl enable --now docker.service >/dev/null || die "systemctl enable --now docker failed"
  else
    say "no systemd: starting dockerd in the background"
    (setsid nohup dockerd >/var/log/dockerd.log 2>&1 &)
  fi
  for _ in $(seq 1 60); do docker_usable && break; sleep 1; done
  docker_usable || die "Docker was installed but does not answer; see its logs"
fi

# Download to a temp file, verify the checksum the control service publishes, then swap in.
mkdir -p "$(dirname "$BIN")" "$CONF_DIR" "$DATA_DIR" "$(dirname "$SUPERVISOR")"
tmp=$(mktemp "$BIN.XXXXXX")
trap 'rm -f "$tmp" "$tmp.sha" "$tmp.err" "$hdr_file" "$wgetrc_file"' EXIT
changed=0
want=""
if http_get "$control/v1/agent/download/sha256?arch=$arch" "$tmp.sha" 2>"$tmp.err"; then
  want=$(cut -d' ' -f1 <"$tmp.sha")
  [[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "the control service returned no valid checksum"
elif [ -x "$BIN" ] && [ -n "$(identity_field instanceId)" ]; then
  # A registered host re-run after its activation expired: keep what is installed.
  say "cannot check for a newer agent binary ($(tail -1 "$tmp.err")); keeping the installed one"
else
  die "cannot get the agent checksum from $control: $(tail -1 "$tmp.err") (is the URL right, the activation valid, and dist/ built on the control host?)"
fi
rm -f "$tmp.err"
if [ -z "$want" ]; then
  :
elif [ -x "$BIN" ] && [ "$(sha256sum "$BIN" | cut -d' ' -f1)" = "$want" ]; then
  say "agent binary up to date ($arch, sha256 ${want:0:16}…)"
else
  say "downloading the agent binary for $arch from $control"
  http_get "$control/v1/agent/download?arch=$arch" "$tmp" || die "downloading the agent binary from $control failed"
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "checksum mismatch for the downloaded agent: expected $want, got $got"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$BIN"
  changed=1
fi

# Settings file: written only when its content changes so a re-run is a no-op.
attrs=$(IFS=,; echo "${attributes[*]:-}")
env_content="# Written by install-agent.sh; read by the flotilla-agent unit or supervisor.
FLOTILLA_CONTROL=$mqtt
FLOTILLA_ACTIVATION_ID=$act_id
FLOTILLA_ACTIVATION_CODE=$act_code
FLOTILLA_DATA_DIR=$DATA_DIR
${cluster:+FLOTILLA_CLUSTER=$cluster
}${region:+FLOTILLA_REGION=$region
}${attrs:+FLOTILLA_ATTRIBUTES=$attrs
}${pull:+FLOTILLA_IMAGE_PULL_BEHAVIOR=$pull
}${keepalive:+FLOTILLA_KEEPALIVE_SECONDS=$keepalive
}${log_level:+FLOTILLA_LOG_LEVEL=$log_level
}${advertise:+FLOTILLA_ADVERTISE_ADDRESS=$advertise
}${release_key:+FLOTILLA_RELEASE_PUBLIC_KEY=$CONF_DIR/release.pub
}${ca_file:+NODE_EXTRA_CA_CERTS=$CONF_DIR/ca.pem
}"
if [ -n "$ca_file" ]; then install -m 0644 "$ca_file" "$CONF_DIR/ca.pem"; fi
if [ -n "$release_key" ]; then install -m 0644 "$release_key" "$CONF_DIR/release.pub"; fi
if [ ! -f "$ENV_FILE" ] || [ "$(cat "$ENV_FILE")" != "$(printf '%s' "$env_content")" ]; then
  (umask 077; printf '%s' "$env_content" >"$ENV_FILE.tmp")
  chmod 0600 "$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
  changed=1
fi
chmod 0600 "$ENV_FILE"

# Run before every start of the agent (systemd ExecStartPre, the supervisor loop): a self-upgrade
# whose new binary never came up as an agent at all (so its own rollback guard never ran) gets the
# previous binary back once its trial is a minute past its deadline (docs/agent-upgrades.md).
guard_content="#!/usr/bin/env bash
m=$DATA_DIR/upgrade.json
[ -f \$m ] && grep -q '\"status\":\"UPDATING\"' \$m && [ -f $BIN.previous ] || exit 0
started=\$(grep -o '\"startedAt\":[0-9]*' \$m | cut -d: -f2)
deadline=\$(grep -o '\"deadlineMs\":[0-9]*' \$m | cut -d: -f2)
[ -n \"\$started\" ] && [ -n \"\$deadline\" ] && [ \$((started + deadline + 60000)) -lt \$(date +%s%3N) ] || exit 0
mv -f $BIN.previous $BIN
sed -i 's/\"status\":\"UPDATING\"/\"status\":\"FAILED\",\"reason\":\"the new binary never came up as an agent; the supervisor put the previous one back\"/' \$m
echo \"[upgrade-guard] the new agent binary never came up; restored the previous one\"
exit 0"
if [ ! -f "$GUARD" ] || [ "$(cat "$GUARD")" != "$guard_content" ]; then
  printf '%s\n' "$guard_content" >"$GUARD"
  chmod 0755 "$GUARD"
  changed=1
fi

if has_systemd; then
  unit_content="[Unit]
Description=Flotilla agent
Documentation=https://github.com/flotilla/flotilla/blob/main/docs/fleet.md
After=docker.service network-online.target
Wants=docker.service network-online.target

[Service]
EnvironmentFile=$ENV_FILE
ExecStartPre=-$GUARD
ExecStart=$BIN
Restart=always
RestartSec=5
KillMode=process

[Install]
WantedBy=multi-user.target"
  if [ ! -f "$UNIT" ] || [ "$(cat "$UNIT")" != "$unit_content" ]; then
    printf '%s\n' "$unit_content" >"$UNIT"
    systemctl daemon-reload
    changed=1
  fi
else
  say "no systemd on this host: the agent runs under a supervisor loop (logs in $LOG)"
  sup_content="#!/usr/bin/env bash
# Restarts the Flotilla agent whenever it exits (hosts without systemd).
set -a; . $ENV_FILE; set +a
trap 'kill \$child 2>/dev/null; wait \$child; exit 0' TERM INT
while true; do
  $GUARD >>$LOG 2>&1
  $BIN >>$LOG 2>&1 & child=\$!
  wait \$child
  echo \"[supervise] agent exited (\$?), restarting in 5s\" >>$LOG
  sleep 5 & wait \$!
done"
  if [ ! -f "$SUPERVISOR" ] || [ "$(cat "$SUPERVISOR")" != "$sup_content" ]; then
    printf '%s\n' "$sup_content" >"$SUPERVISOR"
    chmod 0755 "$SUPERVISOR"
    changed=1
  fi
fi

instance=$(identity_field instanceId)
if [ "$changed" = 0 ] && [ -n "$instance" ] && agent_running; then
  say "already installed, running and registered as instance $instance: nothing changed"
  echo "$instance"
  exit 0
fi

if [ "$no_start" = 1 ]; then
  if has_systemd; then hint="systemctl start flotilla-agent"; else hint="setsid nohup $SUPERVISOR &"; fi
  say "installed; not started (--no-start). Start it with: $hint"
  exit 0
fi

if has_systemd; then
  systemctl enable flotilla-agent.service >/dev/null 2>&1
  systemctl restart flotilla-agent.service
else
  stop_agent
  # Only this start's lines count below: the log outlives uninstalls and holds earlier refusals.
  log_start=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
  setsid nohup "$SUPERVISOR" >/dev/null 2>&1 </dev/null &
  echo $! >"$SUPERVISOR_PID"
fi

say "waiting up to ${reg_timeout}s for the agent to register"
deadline=$(( $(date +%s) + reg_timeout ))
while :; do
  instance=$(identity_field instanceId)
  [ -n "$instance" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "flotilla-install: the agent did not register within ${reg_timeout}s; last log lines:" >&2
    if has_systemd; then journalctl -u flotilla-agent -n 10 --no-pager >&2 || true; else tail -n 10 "$LOG" >&2 || true; fi
    exit 1
  fi
  refusal=$(tail -c +$(( ${log_start:-0} + 1 )) "$LOG" 2>/dev/null | grep "registration refused" | tail -1) || true
  if [ -n "$refusal" ]; then
    die "registration refused: ${refusal#*registration refused: }"
  fi
  sleep 1
done
icluster=$(identity_field clusterName)
if [ -n "$cluster" ] && [ "$icluster" != "$cluster" ]; then
  die "registered into cluster \"$icluster\", not the expected \"$cluster\" (this host was registered there before; uninstall it first to move it)"
fi
say "registered: instance $instance in cluster $icluster"
echo "$instance"
