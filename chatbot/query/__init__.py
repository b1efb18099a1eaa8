"""The query path: prepare a question, retrieve candidates, decide what to show."""
