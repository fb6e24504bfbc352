"""Hub dataset repositories: recipes, build (configs, card, decontamination, mixing), exports and publishing."""
