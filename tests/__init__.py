"""The test suite; its folders mirror affect_live's packages (helpers/ holds shared test code)."""
