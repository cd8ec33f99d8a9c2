# By name (fails if several active projects share the name)...
data "openai_project" "production" {
  name = "Production"
}

# ...or by id.
data "openai_project" "by_id" {
  id = "proj_abc123"
}

output "production_project_id" {
  value = data.openai_project.production.id
}
