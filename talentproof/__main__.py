"""`python -m talentproof` is the `talentproof` command."""

from talentproof.cli import main

main()
