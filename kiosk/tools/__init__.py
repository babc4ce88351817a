"""Operator tools: the booth check (doctor), the printable status-light card, the spoken prompts."""
