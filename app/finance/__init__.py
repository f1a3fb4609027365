"""Finance: the double-entry journal, accounts and balances."""
