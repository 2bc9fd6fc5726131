from samplesite.cli import app

app(prog_name="samplesite")
