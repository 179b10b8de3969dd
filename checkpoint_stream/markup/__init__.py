"""XML text utilities below the records and the readers: the defused expat parser, indentation
of a domain kept as text, the collector of a domain's top, and the facts read from a domain."""
