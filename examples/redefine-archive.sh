#!/usr/bin/env bash
# Restore the checkpoint metadata of a backup archive into libvirt: every checkpoint redefined
# with `virsh checkpoint-create --redefine`, parents before children, in the order
# `checkpoint-stream chain --order` computes (creationTime, then name: never file names or mtimes,
# which is what broke restores that sorted virtnbdbackup.10 before virtnbdbackup.9).
#
#   examples/redefine-archive.sh [-c URI] [--domain NAME] [--dry-run] [--force] ARCHIVE...
#
# ARCHIVE: folders, tar/zip archives, concatenated streams (anything checkpoint-stream reads).
# Each checkpoint goes to the VM of its domain's uuid; checkpoints without a <domain> (grouped by
# folder) go to --domain NAME. The archive is checked first: when `chain` reports an error (a
# missing parent, a cycle, two different definitions of one name, ...), nothing is redefined
# unless --force is given, and then only the checkpoints that can be (the order lists no other).
# --dry-run prints the virsh commands instead of running them.
set -euo pipefail

uri=() domain="" dry=0 force=0
while (($#)); do
  case "$1" in
    -c|--connect) uri=(-c "$2"); shift 2 ;;
    --domain) domain="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
(($#)) || { echo "usage: $0 [-c URI] [--domain NAME] [--dry-run] [--force] ARCHIVE..." >&2; exit 2; }

order=$(mktemp) doc=$(mktemp)
trap 'rm -f "$order" "$doc"' EXIT

# Problems go to standard error; the exit status says whether any is an error.
status=0
checkpoint-stream chain --order --kind checkpoint "$@" >"$order" || status=$?
if ((status == 2)); then
  echo "cannot read the archive (see above)" >&2
  exit 2
fi
if ((status == 1 && !force)); then
  echo "the archive has errors (above): fix them, or use --force to redefine what can be" >&2
  exit 1
fi

# Write the document at LOCATION (PATH, PATH:MEMBER of an archive, or PATH@OFFSET:LENGTH of a
# concatenated stream, as `chain --order` prints it) to $doc.
fetch() (
  # A subshell without pipefail: head stops reading once it has LENGTH bytes, and what feeds it
  # then ends on SIGPIPE, which is no error here.
  set +o pipefail
  local where="$1" re_stream='^(.*)@([0-9]+):([0-9]+)$' re_member='^(.*\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tbz2|tbz|zip)):(.+)$'
  local range=""
  if [[ "$where" =~ $re_stream ]]; then
    where="${BASH_REMATCH[1]}" range="${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
  fi
  if [[ -f "$where" ]]; then
    cat -- "$where"
  elif [[ "$where" =~ $re_member ]]; then
    if [[ "${BASH_REMATCH[2]}" == zip ]]; then
      unzip -p -- "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
    else
      tar -xOf "${BASH_REMATCH[1]}" -- "${BASH_REMATCH[3]}"
    fi
  else
    echo "cannot find $where" >&2
    return 1
  fi | if [[ -n "$range" ]]; then
    read -r offset length <<<"$range"
    tail -c "+$((offset + 1))" | head -c "$length"
  else
    cat
  fi >"$doc"
  [[ -s "$doc" ]] || { echo "nothing read from $1" >&2; exit 1; }
)

count=0
while IFS=$'\t' read -r vm name where; do
  target="$vm"
  if [[ "$vm" == "-" ]]; then
    if [[ -z "$domain" ]]; then
      echo "checkpoint $name ($where) has no <domain>: say which VM it belongs to with --domain NAME" >&2
      exit 2
    fi
    target="$domain"
  fi
  fetch "$where"
  if ((dry)); then
    printf 'virsh%s checkpoint-create %q %q --redefine   # %s\n' "${uri[*]:+ ${uri[*]}}" "$target" "$where" "$name"
  else
    virsh "${uri[@]}" checkpoint-create "$target" "$doc" --redefine >/dev/null
    echo "redefined $name ($where)"
  fi
  count=$((count + 1))
done <"$order"
echo "$count checkpoints redefined$( ((dry)) && echo ' (dry run)')" >&2
