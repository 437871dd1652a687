from medr1_cli.cli import main

main()
