# bash completion for smtpconform(1) - installed by `make install` into
# $(PREFIX)/share/bash-completion/completions/smtpconform.
# Commands, options, report formats and option values; scenario ids and tags
# come from the installed binary itself (smtpconform list --format ids|tags).

_smtpconform_list()
{
	# $1: ids or tags, of the bundled suite (or --scenarios-dir on the line)
	local dir=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		if [[ ${COMP_WORDS[i]} == --scenarios-dir ]]; then
			dir=(--scenarios-dir "${COMP_WORDS[i + 1]}")
		fi
	done
	"${COMP_WORDS[0]}" list --format "$1" "${dir[@]}" 2>/dev/null
}

_smtpconform()
{
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=${COMP_WORDS[1]}
	local commands="run list check matrix report merge diff load help version"
	local select_opts="--tag --level --id --rfc --requires --scenarios-dir"
	local run_opts="--config --target --var --profile --timeout --scenario-timeout --settle-ms --probe-timeout --strict --jobs --baseline
		--shard --rerun-failed --report --tls --tls-verify --ca-file --tls-min-version --sni
		--auth-user --auth-password-env --auth-password-file --verbose --quiet --color --help
		$select_opts"
	local formats="text json junit tap html md"
	local load_opts="--target --concurrency --sessions --duration --rate --ramp --report --var --profile
		--timeout --scenario-timeout --strict --tls --tls-verify --ca-file --tls-min-version --sni
		--auth-user --auth-password-env --auth-password-file --quiet --help"
	# load: -c is the concurrency (a number), not run's --config file.
	if [[ $cmd == load ]]; then
		case $prev in
		-c | --concurrency | -n | --sessions | --duration | --rate | --ramp) return ;;
		--report) COMPREPLY=($(compgen -W "text md json" -- "$cur")); return ;;
		esac
	fi

	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi

	case $prev in
	--report)
		# FMT[:PATH]: the format; the path after ':' is left to the user.
		COMPREPLY=($(compgen -W "$formats" -- "$cur")); return ;;
	--format)
		COMPREPLY=($(compgen -W "text json ids tags" -- "$cur")); return ;;
	--profile)
		COMPREPLY=($(compgen -W "rfc5321 rfc821" -- "$cur")); return ;;
	--level)
		COMPREPLY=($(compgen -W "MUST SHOULD MAY" -- "$cur")); return ;;
	--tls)
		COMPREPLY=($(compgen -W "none implicit" -- "$cur")); return ;;
	--tls-verify)
		COMPREPLY=($(compgen -W "on off require" -- "$cur")); return ;;
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--tls-min-version)
		COMPREPLY=($(compgen -W "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" -- "$cur")); return ;;
	--shard)
		COMPREPLY=($(compgen -W "auto 1/2 2/2 1/4 2/4 3/4 4/4" -- "$cur")); return ;;
	--tag)
		COMPREPLY=($(compgen -W "$(_smtpconform_list tags)" -- "$cur")); return ;;
	--id)
		COMPREPLY=($(compgen -W "$(_smtpconform_list ids)" -- "$cur")); return ;;
	--requires)
		COMPREPLY=($(compgen -W "AUTH 8BITMIME CHUNKING DSN ENHANCEDSTATUSCODES ETRN PIPELINING SIZE SMTPUTF8 STARTTLS" -- "$cur")); return ;;
	--scenarios-dir)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--config | -c | --baseline | --ca-file | --auth-password-file | --rerun-failed | --from)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--target | -t | --var | --timeout | --scenario-timeout | --settle-ms | --probe-timeout | --jobs | -j | --rfc | --sni | --auth-user | --auth-password-env)
		return ;;
	esac

	local opts
	case $cmd in
	run) opts=$run_opts ;;
	list) opts="$select_opts --format --help" ;;
	check) opts="--var --scenarios-dir --help" ;;
	matrix) opts="--profile --help" ;;
	report) opts="--from --report" ;;
	merge) opts="--report" ;;
	diff) opts="--md --help" ;;
	load) opts=$load_opts ;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -F _smtpconform smtpconform
