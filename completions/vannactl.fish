# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vannactl_global_optspecs
    string join \n env-file= no-dotenv json q/quiet v/verbose y/yes actor= app-env= metrics-file= h/help V/version
end

function __fish_vannactl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vannactl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vannactl_using_subcommand
    set -l cmd (__fish_vannactl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vannactl -n "__fish_vannactl_needs_command" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_needs_command" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_needs_command" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_needs_command" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_needs_command" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_needs_command" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_needs_command" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_needs_command" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_needs_command" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_needs_command" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_needs_command" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "init" -d 'Set up or bring up to date everything: golden copy, system DB, ontology, demo data, knowledge base'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "golden-copy" -d 'Make or check the verified read-only runtime copy of the target database'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "seed" -d 'Load deterministic demo data into the system DB'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "train" -d 'Build and maintain the knowledge base (DDL, documentation, question/SQL pairs)'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "backup" -d 'Write, list and verify backup archives'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "restore" -d 'Restore from a backup archive'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "health" -d 'Check every component; exit 3 when a critical check fails'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "config" -d 'Show the effective configuration and where each value came from'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "admin" -d 'Administer system DB users (password reset)'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c vannactl -n "__fish_vannactl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l seed-rows -d 'Demo journal lines to create when SEED_DEMO_DATA is true' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l check -d 'Validate the system DB schema (tables, columns, migration version) and report drift; change nothing'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l update-ontology -d 'Update ontology terms whose YAML definition changed (default: keep what is in the DB)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand init" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l source -d 'Original database (overrides TARGET_DB_SOURCE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l dest -d 'Runtime copy to maintain (overrides TARGET_DB_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l verify -d 'Re-hash source and copy and report any drift (exit 1 on drift); changes nothing'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand golden-copy" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l rows -d 'Journal lines to generate (accounting_transactions rows)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l reset -d 'Drop the demo tables and their data (destructive; system tables are never touched)'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand seed" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l pairs -d 'Question/SQL training file (YAML or JSON list of {question, sql}); repeatable. Default: every file in ONTOLOGY_DIR/pairs/' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l docs -d 'Documentation file (Markdown/text, one item per heading section); repeatable. Default: every file in ONTOLOGY_DIR/docs/' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l prune -d 'Also remove vannactl\'s items whose source no longer exists (asks first)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l dry-run -d 'Show the plan (what would be added/removed); change nothing'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "status" -d 'Counts per collection, embedding dimension, last trained, model'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "list" -d 'List stored items'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "query" -d 'Top-k items per collection for a question, with distances (what the app would retrieve)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "clear" -d 'Remove all items of the given collections (all by default); asks first'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "push" -d 'Copy the Chroma directory into a Chroma server (promote a dev knowledge base)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and not __fish_seen_subcommand_from status list query clear push help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l collection -d 'Only this collection (ddl, documentation, sql); repeatable' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s k -l top-k -d 'Results per collection (Vanna\'s default n_results is 10)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l collection -d 'Only this collection; repeatable' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from query" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l collection -d 'Only this collection; repeatable' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l chroma-url -d 'Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l chroma-path -d 'Chroma persistent directory (overrides CHROMA_PATH)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l model-dir -d 'Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l dry-run -d 'Show what would be copied; change nothing'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from push" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "status" -d 'Counts per collection, embedding dimension, last trained, model'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "list" -d 'List stored items'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "query" -d 'Top-k items per collection for a question, with distances (what the app would retrieve)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove all items of the given collections (all by default); asks first'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "push" -d 'Copy the Chroma directory into a Chroma server (promote a dev knowledge base)'
complete -c vannactl -n "__fish_vannactl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l dir -d 'Folder for archives (overrides BACKUP_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l dry-run -d 'Show which archives retention would keep (and by which rule) and prune after a backup; write and delete nothing'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -f -a "list" -d 'List archives with time, size, components and whether each verifies'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -f -a "verify" -d 'Re-read an archive (default: the newest) and check every member, dump and database in it'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and not __fish_seen_subcommand_from list verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l dir -d 'Folder for archives (overrides BACKUP_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l fast -d 'Read only each manifest; skip re-hashing the members'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l drill-url -d 'Empty PostgreSQL database for the drill (default: create vannactl_drill_<pid> on the DATABASE_URL server, then drop it)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l dir -d 'Folder for archives (overrides BACKUP_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l restore-test -d 'Then restore it into scratch places (a temporary PostgreSQL database, temporary SQLite files, temporary Chroma collections) and compare with the manifest; live data is never touched'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List archives with time, size, components and whether each verifies'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-read an archive (default: the newest) and check every member, dump and database in it'
complete -c vannactl -n "__fish_vannactl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l only -d 'Restore just one component' -r -f -a "system\t''
knowledge\t''
target\t''"
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l dir -d 'Folder for the safety backup and staging (overrides BACKUP_DIR)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l no-safety-backup -d 'Do not take a safety backup of the current state first (no rollback if a component fails)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand restore" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l quick-check -d 'Also run PRAGMA quick_check on SQLite files (reads them whole)'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l stats -d 'Include statistics such as row counts per table'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand health" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand config" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -f -a "reset-password" -d 'Set a new password (bcrypt) for a user; asks for confirmation'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and not __fish_seen_subcommand_from reset-password help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l username -d 'User to reset (default: INIT_ADMIN_USERNAME)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l password-stdin -d 'Read the new password from stdin: hidden and asked twice on a terminal, else its first line (default: INIT_ADMIN_PASSWORD)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "reset-password" -d 'Set a new password (bcrypt) for a user; asks for confirmation'
complete -c vannactl -n "__fish_vannactl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l env-file -d 'Read configuration from this env file instead of ./.env' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l actor -d 'Who is acting, for the audit log (default: OS user@host)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l app-env -d 'Profile: development or production (overrides APP_ENV)' -r
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l metrics-file -d 'Merge this run\'s Prometheus metrics into this textfile (overrides METRICS_FILE)' -r -F
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l no-dotenv -d 'Do not read any .env file'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -l json -d 'Print exactly one JSON object on stdout (errors too)'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace)'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations of destructive actions (for scripts)'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c vannactl -n "__fish_vannactl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "init" -d 'Set up or bring up to date everything: golden copy, system DB, ontology, demo data, knowledge base'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "golden-copy" -d 'Make or check the verified read-only runtime copy of the target database'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "seed" -d 'Load deterministic demo data into the system DB'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "train" -d 'Build and maintain the knowledge base (DDL, documentation, question/SQL pairs)'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "backup" -d 'Write, list and verify backup archives'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "restore" -d 'Restore from a backup archive'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "health" -d 'Check every component; exit 3 when a critical check fails'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "config" -d 'Show the effective configuration and where each value came from'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "admin" -d 'Administer system DB users (password reset)'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "completions" -d 'Print shell completions'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and not __fish_seen_subcommand_from init golden-copy seed train backup restore health config admin completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "status" -d 'Counts per collection, embedding dimension, last trained, model'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "list" -d 'List stored items'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "query" -d 'Top-k items per collection for a question, with distances (what the app would retrieve)'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "clear" -d 'Remove all items of the given collections (all by default); asks first'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "push" -d 'Copy the Chroma directory into a Chroma server (promote a dev knowledge base)'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List archives with time, size, components and whether each verifies'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Re-read an archive (default: the newest) and check every member, dump and database in it'
complete -c vannactl -n "__fish_vannactl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "reset-password" -d 'Set a new password (bcrypt) for a user; asks for confirmation'
