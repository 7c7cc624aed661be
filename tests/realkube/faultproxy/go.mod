module faultproxy

go 1.22
