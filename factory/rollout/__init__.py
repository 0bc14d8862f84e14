"""`studio-factory bootstrap`: the bootstrap stack in every account a portfolio reaches, as a
CloudFormation StackSet: targets (environment + Organizations) -> live state -> plan (typed
steps) -> apply (operations followed to their end)."""
