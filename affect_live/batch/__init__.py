"""Many inputs in one `analyze`: the plan (outputs, what is already done), the workers (this
process, local processes for --jobs, Ray tasks for --ray), progress, and batch.json.

Nothing here imports Ray at module level: only `ray_runner` does, and only when --ray is given.
"""
