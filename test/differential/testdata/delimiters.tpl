[[ with secret "secret/passwords" ]]{{ literal }} [[ .Data.data.wifi ]][[ end ]]
