"""WHMCS's own tables and the code that reads and writes them as WHMCS would."""
