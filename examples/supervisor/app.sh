#!/bin/sh
# A stand-in application: it reads its credentials from the environment
# once, at start, as most apps do.
echo "app: started as $DB_USER (password of $(printf %s "$DB_PASSWORD" | wc -c) characters)"
trap 'echo "app: stopping"; exit 0' TERM
while :; do sleep 0.2; done
