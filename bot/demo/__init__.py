"""The offline tour (`python -m bot demo`): a sample community imported into a throw-away database."""
