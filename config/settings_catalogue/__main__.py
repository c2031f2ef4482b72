from config.settings_catalogue import settings_table_render

print(settings_table_render(), end="")
